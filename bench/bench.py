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
import random
import threading
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

ENV = os.environ
QUICK = ENV.get("QUICK") == "1"
EDGE = ENV.get("EDGE_URL", "")
# A second location: its own KV and cache, sharing only the revocation log.
EDGE_B = ENV.get("EDGE_B_URL", "")
ORIGIN = ENV.get("ORIGIN_URL", "")
ORIGIN_B = ENV.get("ORIGIN_B_URL")
SOAK = ENV.get("SOAK") == "1"
LB_CONF = ENV.get("LB_CONF")
LB_PID_FILE = ENV.get("LB_PID_FILE")
NGINX = ENV.get("NGINX_URL", "")
DB = ENV.get("DATABASE_URL", "")
PG = ENV.get("PG_URL", "")
SECRET = ENV.get("EDGE_ORIGIN_SECRET", "")
TOKEN = ENV.get("TOKEN", "")
USER_ID = ENV.get("USER_ID", "")
ORIGIN_PID = int(ENV.get("ORIGIN_PID", "0"))
OUT = Path(ENV.get("OUT_DIR", "."))
ROOT = Path(__file__).resolve().parent.parent

DURATION = 3 if QUICK else 10
REVOCATIONS = 5 if QUICK else 20
STREAM_BENCH = ENV.get("STREAM_BENCH", str(ROOT / "target/debug/stream-bench"))


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
    five = re.search(r"^5xx: (\d+)", out, re.M)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total,
            "server_errors": int(five.group(1)) if five else None,
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


# Counts 5xx answers across wrk's threads (appended to a script with a `request`).
FIVE_XX_LUA = (
    'local threads = {}\n'
    'setup = function(thread) table.insert(threads, thread) end\n'
    'response = function(status) if status >= 500 then e5 = (e5 or 0) + 1 end end\n'
    'done = function() local t = 0 for _, th in ipairs(threads) do t = t + (th:get("e5") or 0) end\n'
    '  io.write("5xx: " .. t .. "\\n") end\n')


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
    subprocess.run(["cargo", "bench", "--quiet", "-p", "tollgate-edge", "--bench", "hit", "--", *args],
                   check=True, capture_output=True, cwd=ROOT)
    for name in ["edge_hit_cpu", "edge_hit_cpu_with_log"]:
        est = json.loads((ROOT / "target/criterion" / name / "new/estimates.json").read_text())
        res[name] = est["median"]["point_estimate"]
    res["log_check_over_hit"] = res["edge_hit_cpu_with_log"] / res["edge_hit_cpu"] - 1
    wasm_cpu = ROOT / "target/bench-wasm/hit_ns.txt"
    res["edge_hit_cpu_wasm"] = float(wasm_cpu.read_text()) if wasm_cpu.exists() else None
    return res


# An authenticated route that does no origin work beyond answering (the identity is
# stamped; no query), so that against /api/ping (public, no query either) the difference
# is the edge's authentication alone.
HIT_PATH = "/api/daemon/whoami"


LOG_STATUS_PATH = "/__tollgate/revocation-log"


def log_stats():
    """The revocation log's counts, through the edge's signed status call."""
    ts = str(int(time.time()))
    # The two sides' own calls: no client address, no identity (nine empty lines).
    msg = "\n".join(["tollgate-v3", "GET", LOG_STATUS_PATH, ts, hashlib.sha256(b"").hexdigest()] + [""] * 9)
    sig = hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
    status, data = get(EDGE, LOG_STATUS_PATH, {"X-Edge-Timestamp": ts, "X-Edge-Signature": sig})
    assert status == 200, data
    return json.loads(data)


def edge_hit():
    log("edge: /healthz (the Worker alone), /api/ping (passthrough), cache hit")
    auth = [f"Authorization: Bearer {TOKEN}"]
    assert get(EDGE, HIT_PATH, {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    time.sleep(0.3)  # the miss's KV write lands after its answer
    before = metrics()
    res = {}
    for c in (1, 16):
        log_before, t0 = log_stats(), time.monotonic()
        res[f"hit_{c}"] = wrk(EDGE, HIT_PATH, c, headers=auth)
        elapsed, log_after = time.monotonic() - t0, log_stats()
        res[f"log_reads_per_s_{c}"] = (log_after["reads"] - log_before["reads"]) / elapsed
        res[f"ping_{c}"] = wrk(EDGE, "/api/ping", c)
        res[f"healthz_{c}"] = wrk(EDGE, "/healthz", c)
    after = metrics()
    for c in (1, 16):
        res[f"p50_overhead_{c}"] = res[f"hit_{c}"]["p50_ms"] / res[f"ping_{c}"]["p50_ms"] - 1
    res["resolves_during_hit_run"] = after["resolves"] - before["resolves"]
    res["token_lookups_during_hit_run"] = after["lookups"] - before["lookups"]
    return res


def miss_load(tokens, connections):
    """wrk through the edge with each of `tokens` once (every request a cache miss)."""
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
            f'  return wrk.format("GET", "{HIT_PATH}", {{ ["Authorization"] = "Bearer " .. tokens[i] }})\n'
            'end\n')
        # One wrk thread: one counter walks the list, so no token is used twice.
        return wrk(EDGE, HIT_PATH, connections, threads=1, script=script, env={"TOKENS_FILE": str(tokens_file)})


def edge_miss(hit):
    log("edge, cache miss (a fresh token per request)")
    out = {}
    for c in (1, 16):
        n = (1500 if QUICK else 6000) if c == 1 else (4000 if QUICK else 40000)
        tokens = [new_token() for _ in range(n)]
        insert_tokens(tokens, "bench-miss")
        before = metrics()
        miss = miss_load(tokens, c)
        after = metrics()
        miss["resolves"] = after["resolves"] - before["resolves"]
        miss["tokens_available"] = n
        miss["wrapped"] = miss["requests"] > n
        out[f"miss_{c}"] = miss
        out[f"p50_miss_over_hit_{c}"] = miss["p50_ms"] / hit[f"hit_{c}"]["p50_ms"]
        out[f"rps_miss_over_hit_{c}"] = miss["rps"] / hit[f"hit_{c}"]["rps"]
    return out


def signed_resolve_headers(body):
    ts = str(int(time.time()))
    msg = "\n".join(["tollgate-v3", "POST", "/internal/auth/resolve", ts,
                     hashlib.sha256(body.encode()).hexdigest()] + [""] * 9)
    sig = hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return ts, sig


RESOLVE_LUA = (
    'local bodies, i = {}, 0\n'
    'for line in io.lines(os.getenv("RESOLVE_FILE")) do\n'
    '  local ts, sig, body = line:match("^(%S+) (%S+) (.*)$")\n'
    '  bodies[#bodies + 1] = { ts = ts, sig = sig, body = body }\n'
    'end\n'
    'request = function()\n'
    '  i = i % #bodies + 1\n'
    '  local b = bodies[i]\n'
    '  return wrk.format("POST", "/internal/auth/resolve", { ["Content-Type"] = "application/json",\n'
    '    ["X-Edge-Timestamp"] = b.ts, ["X-Edge-Signature"] = b.sig }, b.body)\n'
    'end\n')


def resolve_load(tokens, connections, duration=DURATION):
    """wrk against the origin's signed resolver, cycling through `tokens` (each call
    signed as the edge signs it; signatures live 60 s, so they are made just before)."""
    with tempfile.TemporaryDirectory() as tmp:
        lines = []
        for t in tokens:
            body = json.dumps({"kind": "mul", "hash": hashlib.sha256(t.encode()).hexdigest()})
            ts, sig = signed_resolve_headers(body)
            lines.append(f"{ts} {sig} {body}")
        f = Path(tmp) / "resolve.txt"
        f.write_text("\n".join(lines) + "\n")
        script = Path(tmp) / "resolve.lua"
        script.write_text(RESOLVE_LUA)
        r = wrk(ORIGIN, "/internal/auth/resolve", connections, script=script,
                env={"RESOLVE_FILE": str(f)}, duration=duration)
    assert r["non_2xx"] == 0, f"resolve answered non-2xx: {r}"
    return r


def pgbench(connections):
    out = subprocess.run(["pgbench", "-S", "-n", "-M", "prepared", "-c", str(connections), "-j", "2",
                          "-T", str(DURATION), PG + "/pgbench"], check=True, capture_output=True, text=True).stdout
    return {"tps": float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1)),
            "latency_avg_ms": float(re.search(r"latency average = ([\d.]+) ms", out).group(1))}


def origin_resolve():
    log("origin resolve vs its limit: healthz (HTTP alone) and pgbench -S (one query alone)")
    rss_idle = rss_kib(ORIGIN_PID)
    psql("DROP DATABASE IF EXISTS pgbench", db=PG + "/postgres")
    psql("CREATE DATABASE pgbench", db=PG + "/postgres")
    subprocess.run(["pgbench", "-i", "-q", "-s", "1" if QUICK else "10", PG + "/pgbench"], check=True, capture_output=True)
    results, healthz, pgb = {}, {}, {}
    rss_peak = None
    for c in (4, 16, 64):
        sampler = []
        if c == 64:
            t = threading.Timer(DURATION / 2, lambda: sampler.append(rss_kib(ORIGIN_PID)))
            t.start()
        results[c] = resolve_load([TOKEN], c)
        if c == 64:
            t.join()
            rss_peak = sampler[0] if sampler else None
        healthz[c] = wrk(ORIGIN, "/healthz", c)
        pgb[c] = pgbench(c)
    limits = {}
    for c in (4, 16, 64):
        limit = 1 / (1 / healthz[c]["rps"] + 1 / pgb[c]["tps"])
        limits[c] = {"limit_rps": limit, "fraction": results[c]["rps"] / limit}
    return {"resolve": results, "healthz": healthz, "pgbench": pgb, "limits": limits,
            "rss_idle_kib": rss_idle, "rss_64_kib": rss_peak}


def token_count():
    return int(psql("SELECT count(*) FROM personal_access_tokens").strip())


SCALE_SAMPLE = [new_token() for _ in range(1000)]


def scale_small():
    """Resolve with about 1 k PATs in the table, cycling through 1,000 of them (random
    hashes: spread over the index, not one hot page). Runs first, on a small table."""
    log("scale: resolve with ~1k PATs")
    insert_tokens(SCALE_SAMPLE, "bench-scale")
    return {"rows": token_count(), "resolve": resolve_load(SCALE_SAMPLE, 16)}


def scale_large(small):
    """The same 1,000 tokens once the table holds 1 M PATs (inserted with COPY)."""
    big = 100_000 if QUICK else 1_000_000
    log(f"scale: resolve with {big // 1000}k PATs")
    t0 = time.monotonic()
    while (rest := big - token_count()) > 0:
        insert_tokens((new_token() for _ in range(min(200_000, rest))), "bench-scale")
    copy_seconds = time.monotonic() - t0
    psql("ANALYZE personal_access_tokens")
    large = {"rows": token_count(), "resolve": resolve_load(SCALE_SAMPLE, 16)}
    return {"small": small, "large": large, "copy_seconds": copy_seconds,
            "rps_large_over_small": large["resolve"]["rps"] / small["resolve"]["rps"],
            "p99_large_over_small": large["resolve"]["p99_ms"] / small["resolve"]["p99_ms"]}


def set_replicas(n):
    """Points the load balancer in front of the origins (the edge's ORIGIN_URL) at the
    first `n` replicas and reloads it."""
    conf = Path(LB_CONF)
    servers = [ORIGIN, ORIGIN_B][:n]
    text = conf.read_text()
    block = "".join(f"        server {urlparse(u).hostname}:{urlparse(u).port};\n" for u in servers)
    text = re.sub(r"(upstream origins \{\n)(.*?)(    \})", lambda m: m.group(1) + block + "        keepalive 32;\n" + m.group(3),
                  text, flags=re.S)
    conf.write_text(text)
    pid = int(Path(LB_PID_FILE).read_text().strip())
    os.kill(pid, 1)  # SIGHUP: reload
    time.sleep(1.5)


def replicas():
    """The miss path (every request a resolve) through one and through two origin
    replicas behind a round-robin balancer, and a revocation's reach with two."""
    out = {}
    for n in (1, 2):
        log(f"replicas: miss path through {n} origin replica(s)")
        set_replicas(n)
        tokens = [new_token() for _ in range(2000 if QUICK else 20000)]
        insert_tokens(tokens, "bench-replicas")
        out[f"miss_{n}"] = miss_load(tokens, 16)
        out[f"revocation_{n}"] = revocation(5 if QUICK else 10)
    set_replicas(1)
    out["rps_two_over_one"] = out["miss_2"]["rps"] / out["miss_1"]["rps"]
    return out


def pg_connections():
    return int(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").strip())


def soak():
    """10 minutes of mixed load through the edge at 16 connections: hits, misses,
    unknown tokens, and a revocation every few seconds. Per minute: p99, 5xx; origin RSS
    and Postgres connections at the start, middle and end."""
    minutes = 10
    log(f"soak: {minutes} minutes of mixed load")
    valid = [new_token() for _ in range(200)]
    fresh = [new_token() for _ in range(200_000)]
    unknown = [new_token() for _ in range(50_000)]  # well-formed, in no table
    insert_tokens(valid + fresh, "bench-soak")
    revocable = []
    for _ in range(minutes * 12):
        status, data = get(EDGE, "/api/tokens", {"Authorization": f"Bearer {TOKEN}"}, "POST", json.dumps({"name": "soak"}))
        assert status == 201, data
        revocable.append(json.loads(data))
    stop = threading.Event()
    revoked = []

    def revoker():
        for created in revocable:
            if stop.wait(5):
                return
            h = {"Authorization": f"Bearer {created['token']}"}
            get(EDGE, HIT_PATH, h)
            if get(EDGE, f"/api/tokens/{created['id']}", h, "DELETE")[0] == 204:
                revoked.append(created["id"])

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "valid.txt").write_text("\n".join(valid) + "\n")
        (Path(tmp) / "fresh.txt").write_text("\n".join(fresh) + "\n")
        (Path(tmp) / "unknown.txt").write_text("\n".join(unknown) + "\n")
        script = Path(tmp) / "mixed.lua"
        # 70 % hits, 20 % misses (each fresh token once), 10 % unknown tokens. Unknown
        # tokens come from one address, like any client: the edge's invalid-token
        # limiter may answer some of them 429, which is the point of it.
        script.write_text(
            'local function load(p) local t = {} for l in io.lines(p) do t[#t + 1] = l end return t end\n'
            'local valid, fresh, unknown = load(os.getenv("VALID")), load(os.getenv("FRESH")), load(os.getenv("UNKNOWN"))\n'
            'local n, f = 0, 0\n'
            'request = function()\n'
            '  n = n + 1\n'
            '  local r, token = n % 10\n'
            '  if r < 7 then token = valid[n % #valid + 1]\n'
            '  elseif r < 9 then f = f % #fresh + 1; token = fresh[f]\n'
            '  else token = unknown[n % #unknown + 1] end\n'
            f'  return wrk.format("GET", "{HIT_PATH}", {{ ["Authorization"] = "Bearer " .. token }})\n'
            'end\n' + FIVE_XX_LUA)
        t = threading.Thread(target=revoker)
        t.start()
        samples = []
        for minute in range(minutes):
            rss, conns = rss_kib(ORIGIN_PID), pg_connections()
            r = wrk(EDGE, HIT_PATH, 16, threads=1, script=script, duration=60,
                    env={"VALID": str(Path(tmp) / "valid.txt"), "FRESH": str(Path(tmp) / "fresh.txt"),
                         "UNKNOWN": str(Path(tmp) / "unknown.txt")})
            samples.append({"minute": minute + 1, "rss_kib": rss, "pg_connections": conns, **r})
            log(f"soak minute {minute + 1}: {r['rps']:.0f} rps, p99 {r['p99_ms']:.1f} ms, 5xx {r['server_errors']}, rss {rss} KiB, pg {conns}")
        stop.set()
        t.join()
    end_rss, end_conns = rss_kib(ORIGIN_PID), pg_connections()
    p99s = [s["p99_ms"] for s in samples]
    return {"samples": samples, "revocations": len(revoked),
            "rss_start_kib": samples[0]["rss_kib"], "rss_middle_kib": samples[minutes // 2]["rss_kib"], "rss_end_kib": end_rss,
            "pg_start": samples[0]["pg_connections"], "pg_middle": samples[minutes // 2]["pg_connections"], "pg_end": end_conns,
            "p99_first_ms": p99s[0], "p99_last_ms": p99s[-1], "p99_max_ms": max(p99s),
            "requests": sum(s["requests"] for s in samples),
            "server_errors": sum(s["server_errors"] or 0 for s in samples)}


def nginx_peer(hit):
    log("peer: nginx auth_request + proxy_cache")
    auth = [f"Authorization: Bearer {TOKEN}"]
    # nginx's auth_request asks /api/me; the comparison is against the edge's hit.
    assert get(NGINX, "/api/me", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    r = wrk(NGINX, "/api/me", 16, headers=auth)
    return {"nginx": r, "rps_tollgate_over_nginx": hit["rps"] / r["rps"],
            "p99_tollgate_over_nginx": hit["p99_ms"] / r["p99_ms"]}


def cached_pat(name, edges):
    """A new PAT of the bench user, cached at each of `edges`: its id and its headers."""
    status, data = get(EDGE, "/api/tokens", {"Authorization": f"Bearer {TOKEN}"}, "POST", json.dumps({"name": name}))
    assert status == 201, data
    created = json.loads(data)
    h = {"Authorization": f"Bearer {created['token']}"}
    for edge in edges:
        assert get(edge, "/api/me", h)[0] == 200
    time.sleep(0.3)  # the misses' KV writes land after their answers
    for edge in edges:
        assert get(edge, "/api/me", h)[0] == 200  # now a cache hit
    return created["id"], h


def ms_until_refused(edge, token_id, h, what, pause=0.0):
    """Revokes the PAT `token_id` (headers `h`) through the first edge; milliseconds
    until `edge` answers it 401."""
    status, _ = get(EDGE, f"/api/tokens/{token_id}", h, "DELETE")
    assert status == 204
    t0 = time.monotonic()
    while get(edge, "/api/me", h)[0] != 401:
        if time.monotonic() > t0 + 660:
            raise SystemExit(f"revoked token still accepted {what}")
        time.sleep(pause)
    return (time.monotonic() - t0) * 1000


def spread(times):
    return {"ms_min": min(times), "ms_median": statistics.median(times), "ms_max": max(times), "n": len(times)}


def revocation(count=REVOCATIONS):
    log(f"revocation latency over {count} tokens")
    times = []
    for _ in range(count):
        token_id, h = cached_pat("bench-revoke", [EDGE])
        times.append(ms_until_refused(EDGE, token_id, h, "after the cache TTL"))
    return spread(times)


def revocation_elsewhere(count=REVOCATIONS):
    """How long a second location (its KV never purged) keeps accepting a revoked PAT."""
    log(f"revocation at the second location over {count} tokens")
    times = []
    for _ in range(count):
        token_id, h = cached_pat("bench-elsewhere", [EDGE, EDGE_B])
        times.append(ms_until_refused(EDGE_B, token_id, h, "at the second location", pause=0.01))
        # Spread over the log's 1 s rhythm rather than in step with it.
        time.sleep(random.random())
    return spread(times)


def streams():
    """Event streams: SOCKETS at the origin (delivery commit → socket, close on revoke,
    memory per socket), and a smaller number through wrangler dev (stream-bench)."""
    sockets, edge_sockets = (100, 20) if QUICK else (1000, 100)
    events, revocations = (3, 5) if QUICK else (10, 20)
    log(f"event streams: {sockets} sockets at the origin, {edge_sockets} through the edge")
    status, body = get(ORIGIN, "/api/workspaces", {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, "POST", json.dumps({"name": "streams"}))
    assert status == 201, (status, body)
    workspace = json.loads(body)["id"]
    out = subprocess.run(
        [STREAM_BENCH, ORIGIN, EDGE, TOKEN, workspace, str(ORIGIN_PID), str(sockets), str(edge_sockets), str(events), str(revocations)],
        capture_output=True, text=True, timeout=600,
    )
    if out.returncode != 0:
        raise SystemExit(f"stream-bench failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def random_token():
    body = "mul_" + os.urandom(16).hex()
    return body + format(zlib.crc32(body.encode()), "08x")


def flood(count=1000):
    """Origin lookups for `count` random well-formed tokens from one client."""
    log(f"flood: {count} random well-formed tokens from one client")
    before, statuses = metrics(), {}
    for _ in range(count):
        status = get(EDGE, "/api/me", {"Authorization": f"Bearer {random_token()}"})[0]
        statuses[status] = statuses.get(status, 0) + 1
    after = metrics()
    time.sleep(10)  # the client's block lifts with the limiter's period
    return {"tokens": count, "lookups": after["lookups"] - before["lookups"],
            "resolves": after["resolves"] - before["resolves"], "statuses": statuses, "budget": 50}


def size():
    wasm = Path(ENV["WASM"])
    raw = wasm.stat().st_size
    gz = len(__import__("gzip").compress(wasm.read_bytes(), 9))
    return {"raw_bytes": raw, "gzip_bytes": gz, "limit_gzip_bytes": 3 * 1024 * 1024,
            "goal_gzip_bytes": 200 * 1024}


# ---------------------------------------------------------------- report

def verdict(ok):
    return "met" if ok else "**missed**"


def lat(r):
    return f"{r['rps']:.0f} rps, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"


def render(r, meta):
    m, h, mi, o, p, rv, s = r["micro"], r["edge_hit"], r["edge_miss"], r["origin_resolve"], r["peer"], r["revocation"], r["size"]
    us = lambda ns: f"{ns / 1000:.2f} µs"
    wasm = m.get("edge_hit_cpu_wasm")
    rows = [
        ("Micro: parse + checksum + sha256 (44 chars)", f"{m['parse_checksum_hash']:.0f} ns", f"sha256 of 44 B: {m['sha256_44_bytes']:.0f} ns", f"{m['parse_hash_over_floor']:.2f}×", f"≤ 1.5× — {verdict(m['parse_hash_over_floor'] <= 1.5)}; 0 allocations (shared/tests/allocations.rs)"),
        ("Micro: sign identity headers", f"{m['sign_identity_headers']:.0f} ns", "", f"{m['sign_identity_headers'] / m['sha256_44_bytes']:.1f}× sha256", ""),
        ("Micro: verify identity headers", f"{m['verify_identity_headers']:.0f} ns", "", f"{m['verify_identity_headers'] / m['sha256_44_bytes']:.1f}× sha256", ""),
        ("Edge CPU per hit with the revocation-log check (a copy of 1,000 revoked keys)", f"native {us(m['edge_hit_cpu_with_log'])}" if "edge_hit_cpu_with_log" in m else "not measured", f"the hit without it: {us(m['edge_hit_cpu'])}", f"{m.get('log_check_over_hit', 0) * 100:+.1f} %", f"≤ +5 % — {verdict(m.get('log_check_over_hit', 1) <= 0.05)}"),
        ("Edge CPU per hit (parse, hash, key, entry decode, stamp, sign)", f"native {us(m['edge_hit_cpu'])}" + (f", wasm (node) {us(wasm)}" if wasm else ", wasm: not measured"), "Workers free plan: 10 ms CPU", f"{(wasm or m['edge_hit_cpu']) / 10e6 * 100:.3f} % of the limit", f"≤ 50 µs in wasm — {verdict(wasm is not None and wasm <= 50_000)}"),
    ]
    for c in (1, 16):
        rows.append((f"Edge: /healthz answered by the Worker, {c} conn(s)", lat(h[f"healthz_{c}"]), "", "", "the runtime alone: no origin, no KV"))
        rows.append((f"Edge: /api/ping passthrough, {c} conn(s)", lat(h[f"ping_{c}"]), "", "", "+ the forward to the origin"))
        overhead = h[f"p50_overhead_{c}"] * 100
        counts = f"; resolves {h['resolves_during_hit_run']:.0f}, token lookups {h['token_lookups_during_hit_run']:.0f} during the hit runs" if c == 16 else ""
        reads = h.get(f"log_reads_per_s_{c}")
        log_note = f"; revocation-log reads {reads:.2f}/s (goal ≤ 1 — {verdict(reads <= 1)})" if reads is not None else ""
        rows.append((f"Edge hit: GET {HIT_PATH} (cached PAT), {c} conn(s)", lat(h[f"hit_{c}"]), "/api/ping (same origin work)", f"p50 {overhead:+.1f} %", "+ KV read, the log check and Tollgate's code" + counts + log_note))
    for c in (1, 16):
        mm = mi[f"miss_{c}"]
        goal = f"≤ 1.25× — {verdict(mi['p50_miss_over_hit_1'] <= 1.25)}" if c == 1 else ""
        ratio = mi[f"p50_miss_over_hit_{c}"]
        note = f"{goal}{'; ' if goal else ''}{mm['resolves']:.0f} resolves for {mm['requests']} requests" + (" (token list wrapped!)" if mm["wrapped"] else "")
        rows.append((f"Edge miss: fresh token per request, {c} conn(s)", lat(mm), "the hit above", f"p50 {ratio:.2f}× hit", note))
    for c in (4, 16, 64):
        rr, pg, hz, lim = o["resolve"][c], o["pgbench"][c], o["healthz"][c], o["limits"][c]
        goal = f"≥ 90 % — {verdict(lim['fraction'] >= 0.9)}" if c in (16, 64) else ""
        rows.append((f"Origin resolve (signed), {c} conns", lat(rr), f"limit {lim['limit_rps']:.0f} rps = 1/(1/healthz {hz['rps']:.0f} + 1/pgbench -S {pg['tps']:.0f})", f"{lim['fraction'] * 100:.0f} % of the limit", goal))
    if "scale" in r:
        sc = r["scale"]
        rows.append((f"Scale: resolve, 16 conns, {sc['small']['rows']} PATs", lat(sc["small"]["resolve"]), "", "", ""))
        rows.append((f"Scale: resolve, 16 conns, {sc['large']['rows']} PATs", lat(sc["large"]["resolve"]), f"{sc['small']['rows']} PATs (above)", f"rps {sc['rps_large_over_small']:.2f}×, p99 {sc['p99_large_over_small']:.2f}×", f"flat — {verdict(sc['rps_large_over_small'] >= 0.9)}; COPY took {sc['copy_seconds']:.0f} s"))
    if "replicas" in r:
        rp = r["replicas"]
        for n in (1, 2):
            rows.append((f"Replicas: edge miss path, {n} origin(s) behind round robin, 16 conns", lat(rp[f"miss_{n}"]), "", f"{rp['rps_two_over_one']:.2f}× with two" if n == 2 else "", ""))
            rv_n = rp[f"revocation_{n}"]
            rows.append((f"Replicas: revocation 204 → first 401 at the edge, {n} origin(s)", f"median {rv_n['ms_median']:.1f} ms, max {rv_n['ms_max']:.1f} ms ({rv_n['n']} tokens)", "", "", ""))
    rows.append(("Peer: nginx auth_request + proxy_cache, GET /api/me, 16 conns", lat(p["nginx"]), "Tollgate edge hit (above)", f"Tollgate rps {p['rps_tollgate_over_nginx']:.2f}×, p99 {p['p99_tollgate_over_nginx']:.2f}×", ""))
    rows.append((f"Revocation: 204 → first 401 at the edge ({rv['n']} tokens)", f"min {rv['ms_min']:.1f} ms, median {rv['ms_median']:.1f} ms, max {rv['ms_max']:.1f} ms", "", "", "purge delivered before the 204"))
    if "revocation_elsewhere" in r:
        re_ = r["revocation_elsewhere"]
        rows.append((f"Revocation at a second location (its KV never purged): 204 → first 401 ({re_['n']} tokens)", f"min {re_['ms_min']:.0f} ms, median {re_['ms_median']:.0f} ms, max {re_['ms_max']:.0f} ms", "KV alone: up to 60 s or more", "", f"≤ 2 s — {verdict(re_['ms_max'] <= 2000)}"))
    if "flood" in r:
        fl = r["flood"]
        rows.append((f"Flood: {fl['tokens']} random well-formed tokens from one client", f"{fl['lookups']:.0f} origin token lookups, statuses {fl['statuses']}", f"limiter budget {fl['budget']} per 10 s", "", f"≤ the budget (+ 1, the lookup that finds it spent, per 10 s window), not {fl['tokens']} — {verdict(fl['lookups'] <= 2 * (fl['budget'] + 1))}"))
    rows.append(("Size: release Worker wasm (worker profile, wasm-opt -Oz)", f"{s['raw_bytes'] / 1024:.0f} KiB raw, {s['gzip_bytes'] / 1024:.0f} KiB gzipped", "Workers free plan: 3 MiB gzipped", f"{s['gzip_bytes'] / s['limit_gzip_bytes'] * 100:.1f} % of the limit", f"≤ 200 KiB gz — {verdict(s['gzip_bytes'] <= s['goal_gzip_bytes'])}"))
    if "console" in r:
        c = r["console"]
        pages = ", ".join(f"{page} {ms:.0f}" for page, ms in sorted(c["pages"].items()))
        slowest = max(c["pages"].values())
        rows.append(("Console: time to interactive per page (headless Chromium against wrangler dev, measured by the end-to-end run of " + c["measured"] + ")",
                     f"{pages} ms", "", "", f"≤ 1 s each — {verdict(slowest <= 1000)}"))
    if "streams" in r:
        st = r["streams"]
        d, c, e = st["delivery_ms"], st["close_ms"], st["edge_delivery_ms"]
        rows.append((f"Streams: event delivery, request that commits it → every socket, {st['sockets']} sockets on one origin ({d['n']} deliveries)", f"p50 {d['p50']:.1f} ms, p99 {d['p99']:.1f} ms, max {d['max']:.1f} ms", "", "", "NOTIFY → one read per origin → fan-out"))
        rows.append((f"Streams: close on revoke, DELETE /api/tokens/{{id}} → close 4401 ({c['n']} PATs)", f"p50 {c['p50']:.1f} ms, max {c['max']:.1f} ms", "", "", f"≤ 2 s — {verdict(c['max'] <= 2000)}"))
        rows.append((f"Streams: origin memory per open socket ({st['sockets']} sockets)", f"{st['rss_per_socket_kib']:.1f} KiB", "", "", f"RSS {st['rss_before_kib'] / 1024:.1f} → {st['rss_after_kib'] / 1024:.1f} MiB"))
        rows.append((f"Streams: event delivery through wrangler dev, {st['edge_sockets']} sockets ({e['n']} deliveries)", f"p50 {e['p50']:.1f} ms, p99 {e['p99']:.1f} ms, max {e['max']:.1f} ms", "the origin's (above)", "", "the Worker passes the origin's socket back"))
    rows.append(("Memory: origin RSS", f"idle {o['rss_idle_kib'] / 1024:.1f} MiB, under resolve at 64 conns {(o['rss_64_kib'] or 0) / 1024:.1f} MiB", "", "", ""))
    if "soak" in r:
        sk = r["soak"]
        growth = max(sk["rss_middle_kib"], sk["rss_end_kib"]) / sk["rss_start_kib"] - 1
        first = statistics.median(x["p99_ms"] for x in sk["samples"][:3])
        drift = max(x["p99_ms"] for x in sk["samples"][-3:]) / first
        pg_growth = max(sk["pg_middle"], sk["pg_end"]) / max(sk["pg_start"], 1) - 1
        p99s = ", ".join(f"{x['p99_ms']:.0f}" for x in sk["samples"])
        rows.append(("Soak: 10 min mixed (70 % hits, 20 % misses, 10 % unknown, a revocation every 5 s), 16 conns",
                     f"{sk['requests']} requests, 5xx {sk['server_errors']}, p99 by minute {p99s} ms",
                     f"RSS {sk['rss_start_kib'] / 1024:.1f} / {sk['rss_middle_kib'] / 1024:.1f} / {sk['rss_end_kib'] / 1024:.1f} MiB, Postgres connections {sk['pg_start']} / {sk['pg_middle']} / {sk['pg_end']} (start / middle / end)",
                     f"RSS {growth * 100:+.0f} %, connections {pg_growth * 100:+.0f} %, p99 last 3 min vs first 3 {drift:.2f}×",
                     f"no growth > 10 % — {verdict(growth <= 0.1 and pg_growth <= 0.1)}; zero 5xx — {verdict(sk['server_errors'] == 0)}; "
                     f"no p99 drift (≤ 1.25×) — {verdict(drift <= 1.25)}; {sk['revocations']} revocations"))
    head = "| measurement | Tollgate | baseline (same run) | ratio | goal / note |\n| --- | --- | --- | --- | --- |\n"
    table = head + "".join(f"| {' | '.join(row)} |\n" for row in rows)
    header = (f"Run: {meta['date']} · commit `{meta['commit']}` · {meta['cores']} cores, {meta['cpu']} · "
              f"{'quick (--quick)' if QUICK else 'full'} run{' with --soak' if SOAK else ''}, {DURATION} s per load test · all traffic on loopback; "
              "the load generator, wrangler dev (workerd), the origins, nginx and Postgres share the same cores. "
              "The edge reaches the origin through nginx round robin (one replica unless a row says two).\n")
    return header, table


def console_timings():
    """The console's time to interactive per page, as the end-to-end tests measured it
    in headless Chromium against the stack's wrangler dev (target/console/timings.json,
    written by tests/tests/edge/console.rs): reported, not measured, here."""
    path = ROOT / "target/console/timings.json"
    if not path.exists():
        return None
    measured = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {"pages": json.loads(path.read_text()), "measured": measured}


def write_report(results, meta, out):
    header, table = render(results, meta)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str) + "\n")
    notes = (ROOT / "bench/NOTES.md").read_text() if (ROOT / "bench/NOTES.md").exists() else ""
    (out / "BENCHMARKS.md").write_text("# Benchmarks\n\nMade by `scripts/bench` (numbers are not asserted anywhere; re-run to refresh).\n\n"
                                       + header + "\n" + table + "\n" + notes)
    return header, table


def rerender(path):
    """`bench.py --render bench/results.json`: BENCHMARKS.md again from saved results
    (after editing bench/NOTES.md), without measuring anything."""
    global QUICK, SOAK, DURATION
    saved = json.loads(Path(path).read_text())
    results = saved["results"]
    for group in ("edge_miss", "origin_resolve"):
        for key in ("resolve", "healthz", "pgbench", "limits"):
            if key in results.get(group, {}):
                results[group][key] = {int(k): v for k, v in results[group][key].items()}
    QUICK, SOAK = saved["meta"]["quick"], "soak" in results
    DURATION = 3 if QUICK else 10
    write_report(results, saved["meta"], Path(path).parent)
    (Path(path).parent / "BENCHMARKS.md").replace(ROOT / "BENCHMARKS.md")


def main():
    if sys.argv[1:2] == ["--render"]:
        return rerender(sys.argv[2])
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip() or "unknown",
        "cores": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "unknown"),
        "quick": QUICK,
    }
    results = {"micro": micro()}
    small = scale_small()
    results["edge_hit"] = edge_hit()
    results["edge_miss"] = edge_miss(results["edge_hit"])
    results["origin_resolve"] = origin_resolve()
    results["peer"] = nginx_peer(results["edge_hit"]["hit_16"])
    results["revocation"] = revocation()
    if EDGE_B:
        results["revocation_elsewhere"] = revocation_elsewhere()
    if ORIGIN_B and LB_CONF:
        results["replicas"] = replicas()
    results["scale"] = scale_large(small)
    results["flood"] = flood(200 if QUICK else 1000)
    results["size"] = size()
    if Path(STREAM_BENCH).exists():
        results["streams"] = streams()
    console = console_timings()
    if console:
        results["console"] = console
    if SOAK:
        results["soak"] = soak()
    header, table = write_report(results, meta, OUT)
    print()
    print(header)
    print(table)
    print(f"wrote {OUT / 'results.json'} and {OUT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
