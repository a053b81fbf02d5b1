#!/usr/bin/env python3
"""Tollgate benchmarks: runs every measurement against the stack scripts/bench started,
prints a table and writes results.json and BENCHMARKS.md.

Every figure sits beside a baseline measured in the same run (machines here are shared
and noisy): sha256 for the micro-benchmarks, the public /api/ping route for the edge,
pgbench -S for the origin's resolver, nginx auth_request for the peer.
Standard library only. Inputs come from the environment (see scripts/bench).
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

ENV = os.environ
QUICK = ENV.get("QUICK") == "1"
EDGE = ENV["EDGE_URL"]
ORIGIN = ENV["ORIGIN_URL"]
NGINX = ENV["NGINX_URL"]
DB = ENV["DATABASE_URL"]
PG = ENV["PG_URL"]
SECRET = ENV["EDGE_ORIGIN_SECRET"]
TOKEN = ENV["TOKEN"]
USER_ID = ENV["USER_ID"]
ORIGIN_PID = int(ENV["ORIGIN_PID"])
OUT = Path(ENV["OUT_DIR"])
ROOT = Path(__file__).resolve().parent.parent

DURATION = 3 if QUICK else 10
REVOCATIONS = 5 if QUICK else 20


def log(msg):
    print(f"  · {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- helpers

def get(url, path, headers=None, method="GET", body=None):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def metrics():
    _, text = get(ORIGIN, "/metrics")
    out = {"resolves": 0.0, "lookups": 0.0}
    for line in text.decode().splitlines():
        if line.startswith("tollgate_resolve_total"):
            out["resolves"] += float(line.rsplit(" ", 1)[1])
        elif line.startswith("tollgate_db_token_lookups_total"):
            out["lookups"] += float(line.rsplit(" ", 1)[1])
    return out


def psql(sql, db=DB):
    return subprocess.run(["psql", "-qAtX", db, "-c", sql], check=True, capture_output=True, text=True).stdout


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def to_ms(value):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def wrk(url, path, connections, threads=2, headers=(), script=None, duration=DURATION, env=None):
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url + path)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**ENV, **(env or {})}).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1).strip() if errors else None}


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def new_token():
    body = "mul_" + os.urandom(16).hex()
    return body + format(zlib.crc32(body.encode()), "08x")


def insert_tokens(tokens, name):
    """Inserts PATs for the bench user straight into Postgres (only hashes, as always)."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        for t in tokens:
            f.write(f"{USER_ID},{name},{hashlib.sha256(t.encode()).hexdigest()},{t[:12]}\n")
        path = f.name
    subprocess.run(["psql", "-qX", DB, "-c",
                    f"\\copy personal_access_tokens (user_id, name, token_hash, token_prefix) FROM '{path}' CSV"],
                   check=True, capture_output=True)
    os.unlink(path)


# ---------------------------------------------------------------- measurements

def micro():
    log("micro-benchmarks (criterion)")
    args = ["--warm-up-time", "0.3", "--measurement-time", "1"] if QUICK else ["--warm-up-time", "1", "--measurement-time", "5"]
    subprocess.run(["cargo", "bench", "--quiet", "-p", "tollgate-shared", "--bench", "micro", "--", *args],
                   check=True, capture_output=True, cwd=ROOT)
    res = {}
    for name in ["sha256_44_bytes", "parse_checksum_hash", "sign_identity_headers", "verify_identity_headers"]:
        est = json.loads((ROOT / "target/criterion" / name / "new/estimates.json").read_text())
        res[name] = est["median"]["point_estimate"]
    res["parse_hash_over_floor"] = res["parse_checksum_hash"] / res["sha256_44_bytes"]
    return res


def edge_hit():
    log("edge, cache hit vs public route")
    auth = [f"Authorization: Bearer {TOKEN}"]
    assert get(EDGE, "/api/me", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    before = metrics()
    hit = wrk(EDGE, "/api/me", 16, headers=auth)
    # One connection: the latency a single caller sees, without queueing behind others.
    hit1 = wrk(EDGE, "/api/me", 1, headers=auth)
    after = metrics()
    ping = wrk(EDGE, "/api/ping", 16)
    ping1 = wrk(EDGE, "/api/ping", 1)
    return {"hit": hit, "ping": ping, "hit_1conn": hit1, "ping_1conn": ping1,
            "p50_overhead_1conn": hit1["p50_ms"] / ping1["p50_ms"] - 1,
            "p50_overhead": hit["p50_ms"] / ping["p50_ms"] - 1,
            "rps_ratio": hit["rps"] / ping["rps"],
            "resolves_during_hit_run": after["resolves"] - before["resolves"],
            "token_lookups_during_hit_run": after["lookups"] - before["lookups"]}


def edge_miss(hit):
    log("edge, cache miss (a fresh token per request)")
    n = 4000 if QUICK else 40000
    tokens = [new_token() for _ in range(n)]
    insert_tokens(tokens, "bench-miss")
    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        script = Path(tmp) / "miss.lua"
        script.write_text(
            'local tokens = {}\n'
            'for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end\n'
            'local i = 0\n'
            'request = function()\n'
            '  i = i % #tokens + 1\n'
            '  return wrk.format("GET", "/api/me", { ["Authorization"] = "Bearer " .. tokens[i] })\n'
            'end\n')
        before = metrics()
        # One wrk thread: one counter walks the list, so no token is used twice.
        miss = wrk(EDGE, "/api/me", 16, threads=1, script=script, env={"TOKENS_FILE": str(tokens_file)})
        after = metrics()
    miss["resolves"] = after["resolves"] - before["resolves"]
    miss["tokens_available"] = n
    miss["wrapped"] = miss["requests"] > n
    return {"miss": miss, "p50_miss_over_hit": miss["p50_ms"] / hit["p50_ms"],
            "rps_miss_over_hit": miss["rps"] / hit["rps"]}


def signed_resolve_headers(body):
    ts = str(int(time.time()))
    msg = "\n".join(["tollgate-v1", "POST", "/internal/auth/resolve", ts,
                     hashlib.sha256(body.encode()).hexdigest()] + [""] * 7)
    sig = hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return ts, sig


def origin_resolve():
    log("origin resolve vs pgbench -S")
    body = json.dumps({"kind": "mul", "hash": hashlib.sha256(TOKEN.encode()).hexdigest()})
    rss_idle = rss_kib(ORIGIN_PID)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "resolve.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.body = os.getenv("RESOLVE_BODY")\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            'wrk.headers["X-Edge-Timestamp"] = os.getenv("RESOLVE_TS")\n'
            'wrk.headers["X-Edge-Signature"] = os.getenv("RESOLVE_SIG")\n')
        results = {}
        rss_peak = None
        for c in (4, 16, 64):
            ts, sig = signed_resolve_headers(body)  # fresh: signatures live 60 s
            sampler = []
            if c == 64:
                t = threading.Timer(DURATION / 2, lambda: sampler.append(rss_kib(ORIGIN_PID)))
                t.start()
            r = wrk(ORIGIN, "/internal/auth/resolve", c, script=script,
                    env={"RESOLVE_BODY": body, "RESOLVE_TS": ts, "RESOLVE_SIG": sig})
            if c == 64:
                t.join()
                rss_peak = sampler[0] if sampler else None
            assert r["non_2xx"] == 0, f"resolve answered non-2xx: {r}"
            results[c] = r
    pgb = {}
    psql("DROP DATABASE IF EXISTS pgbench", db=PG + "/postgres")
    psql("CREATE DATABASE pgbench", db=PG + "/postgres")
    subprocess.run(["pgbench", "-i", "-q", "-s", "1" if QUICK else "10", PG + "/pgbench"], check=True, capture_output=True)
    for c in (4, 16, 64):
        out = subprocess.run(["pgbench", "-S", "-n", "-M", "prepared", "-c", str(c), "-j", "2", "-T", str(DURATION), PG + "/pgbench"],
                             check=True, capture_output=True, text=True).stdout
        tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
        lat = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
        pgb[c] = {"tps": tps, "latency_avg_ms": lat}
    best_resolve = max(r["rps"] for r in results.values())
    best_pg = max(p["tps"] for p in pgb.values())
    return {"resolve": results, "pgbench": pgb, "best_ratio": best_resolve / best_pg,
            "rss_idle_kib": rss_idle, "rss_64_kib": rss_peak}


def nginx_peer(hit):
    log("peer: nginx auth_request + proxy_cache")
    auth = [f"Authorization: Bearer {TOKEN}"]
    assert get(NGINX, "/api/me", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    r = wrk(NGINX, "/api/me", 16, headers=auth)
    return {"nginx": r, "rps_tollgate_over_nginx": hit["rps"] / r["rps"],
            "p99_tollgate_over_nginx": hit["p99_ms"] / r["p99_ms"]}


def revocation():
    log(f"revocation latency over {REVOCATIONS} tokens")
    times = []
    for _ in range(REVOCATIONS):
        status, data = get(EDGE, "/api/tokens", {"Authorization": f"Bearer {TOKEN}"}, "POST", json.dumps({"name": "bench-revoke"}))
        assert status == 201, data
        created = json.loads(data)
        h = {"Authorization": f"Bearer {created['token']}"}
        assert get(EDGE, "/api/me", h)[0] == 200
        assert get(EDGE, "/api/me", h)[0] == 200  # now a cache hit
        status, _ = get(EDGE, f"/api/tokens/{created['id']}", h, "DELETE")
        assert status == 204
        t0 = time.monotonic()
        deadline = t0 + 660
        while get(EDGE, "/api/me", h)[0] != 401:
            if time.monotonic() > deadline:
                raise SystemExit("revoked token still accepted after the cache TTL")
        times.append((time.monotonic() - t0) * 1000)
    return {"ms_min": min(times), "ms_median": statistics.median(times), "ms_max": max(times), "n": len(times)}


def size():
    wasm = Path(ENV["WASM"])
    raw = wasm.stat().st_size
    gz = len(__import__("gzip").compress(wasm.read_bytes(), 9))
    return {"raw_bytes": raw, "gzip_bytes": gz, "limit_gzip_bytes": 3 * 1024 * 1024,
            "goal_gzip_bytes": 300 * 1024}


# ---------------------------------------------------------------- report

def verdict(ok):
    return "met" if ok else "**missed**"


def render(r, meta):
    m, h, mi, o, p, rv, s = r["micro"], r["edge_hit"], r["edge_miss"], r["origin_resolve"], r["peer"], r["revocation"], r["size"]
    rows = [
        ("Micro: parse + checksum + sha256 (44 chars)", f"{m['parse_checksum_hash']:.0f} ns", f"sha256 of 44 B: {m['sha256_44_bytes']:.0f} ns", f"{m['parse_hash_over_floor']:.2f}×", f"≤ 2× — {verdict(m['parse_hash_over_floor'] <= 2)}"),
        ("Micro: sign identity headers", f"{m['sign_identity_headers']:.0f} ns", "", f"{m['sign_identity_headers'] / m['sha256_44_bytes']:.1f}× sha256", ""),
        ("Micro: verify identity headers", f"{m['verify_identity_headers']:.0f} ns", "", f"{m['verify_identity_headers'] / m['sha256_44_bytes']:.1f}× sha256", ""),
        ("Edge hit: GET /api/me (cached PAT), 16 conns", f"{h['hit']['rps']:.0f} rps, p50 {h['hit']['p50_ms']:.2f} ms, p99 {h['hit']['p99_ms']:.2f} ms", f"/api/ping: {h['ping']['rps']:.0f} rps, p50 {h['ping']['p50_ms']:.2f} ms, p99 {h['ping']['p99_ms']:.2f} ms", f"p50 +{h['p50_overhead'] * 100:.1f} %, rps {h['rps_ratio']:.2f}×", f"≤ +5 % p50 — {verdict(h['p50_overhead'] <= 0.05)}; resolves {h['resolves_during_hit_run']:.0f}, token lookups {h['token_lookups_during_hit_run']:.0f} during the run"),
        ("Edge hit: GET /api/me (cached PAT), 1 conn", f"{h['hit_1conn']['rps']:.0f} rps, p50 {h['hit_1conn']['p50_ms']:.2f} ms, p99 {h['hit_1conn']['p99_ms']:.2f} ms", f"/api/ping: {h['ping_1conn']['rps']:.0f} rps, p50 {h['ping_1conn']['p50_ms']:.2f} ms, p99 {h['ping_1conn']['p99_ms']:.2f} ms", f"p50 +{h['p50_overhead_1conn'] * 100:.1f} %", f"≤ +5 % p50 — {verdict(h['p50_overhead_1conn'] <= 0.05)}"),
        ("Edge miss: fresh token per request, 16 conns", f"{mi['miss']['rps']:.0f} rps, p50 {mi['miss']['p50_ms']:.2f} ms, p99 {mi['miss']['p99_ms']:.2f} ms", "the hit run above", f"p50 {mi['p50_miss_over_hit']:.2f}× hit, rps {mi['rps_miss_over_hit']:.2f}× hit", f"{mi['miss']['resolves']:.0f} resolves for {mi['miss']['requests']} requests" + (" (token list wrapped!)" if mi["miss"]["wrapped"] else "")),
    ]
    for c in (4, 16, 64):
        rr, pg = o["resolve"][c], o["pgbench"][c]
        rows.append((f"Origin resolve (signed), {c} conns", f"{rr['rps']:.0f} rps, p50 {rr['p50_ms']:.2f} ms, p99 {rr['p99_ms']:.2f} ms", f"pgbench -S: {pg['tps']:.0f} tps, avg {pg['latency_avg_ms']:.2f} ms", f"{rr['rps'] / pg['tps'] * 100:.0f} %", ""))
    rows.append(("Origin resolve, best vs best", "", "", f"{o['best_ratio'] * 100:.0f} %", f"≥ 50 % — {verdict(o['best_ratio'] >= 0.5)}"))
    rows.append(("Peer: nginx auth_request + proxy_cache, GET /api/me, 16 conns", f"{p['nginx']['rps']:.0f} rps, p50 {p['nginx']['p50_ms']:.2f} ms, p99 {p['nginx']['p99_ms']:.2f} ms", "Tollgate edge hit (above)", f"Tollgate rps {p['rps_tollgate_over_nginx']:.2f}×, p99 {p['p99_tollgate_over_nginx']:.2f}×", ""))
    rows.append((f"Revocation: 204 → first 401 at the edge ({rv['n']} tokens)", f"min {rv['ms_min']:.1f} ms, median {rv['ms_median']:.1f} ms, max {rv['ms_max']:.1f} ms", "", "", "purge delivered before the 204"))
    rows.append(("Size: release wasm (wasm-opt)", f"{s['raw_bytes'] / 1024:.0f} KiB raw, {s['gzip_bytes'] / 1024:.0f} KiB gzipped", "Workers free plan: 3 MiB gzipped", f"{s['gzip_bytes'] / s['limit_gzip_bytes'] * 100:.1f} % of the limit", f"≤ 300 KiB gz — {verdict(s['gzip_bytes'] <= s['goal_gzip_bytes'])}"))
    rows.append(("Memory: origin RSS", f"idle {o['rss_idle_kib'] / 1024:.1f} MiB, under resolve at 64 conns {(o['rss_64_kib'] or 0) / 1024:.1f} MiB", "", "", ""))
    head = "| measurement | Tollgate | baseline (same run) | ratio | goal / note |\n| --- | --- | --- | --- | --- |\n"
    table = head + "".join(f"| {' | '.join(row)} |\n" for row in rows)
    header = (f"Run: {meta['date']} · commit `{meta['commit']}` · {meta['cores']} cores, {meta['cpu']} · "
              f"{'quick (--quick)' if QUICK else 'full'} run, {DURATION} s per load test · all traffic on loopback; "
              "the load generator, wrangler dev (workerd), the origin and Postgres share the same cores.\n")
    return header, table


def main():
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip() or "unknown",
        "cores": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "unknown"),
        "quick": QUICK,
    }
    results = {"micro": micro()}
    results["edge_hit"] = edge_hit()
    results["edge_miss"] = edge_miss(results["edge_hit"]["hit"])
    results["origin_resolve"] = origin_resolve()
    results["peer"] = nginx_peer(results["edge_hit"]["hit"])
    results["revocation"] = revocation()
    results["size"] = size()
    header, table = render(results, meta)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str) + "\n")
    notes = (ROOT / "bench/NOTES.md").read_text() if (ROOT / "bench/NOTES.md").exists() else ""
    (OUT / "BENCHMARKS.md").write_text("# Benchmarks\n\nMade by `scripts/bench` (numbers are not asserted anywhere; re-run to refresh).\n\n"
                                       + header + "\n" + table + "\n" + notes)
    print()
    print(header)
    print(table)
    print(f"wrote {OUT / 'results.json'} and {OUT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
