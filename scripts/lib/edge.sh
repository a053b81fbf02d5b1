# shellcheck shell=bash
# The edge toolchain, pinned (see the handbook's TOOLCHAIN.md): these machines reach only
# the crates.io and npm registries, so every binary comes from there.
#   edge_install   → wasm32 target, worker-build, wasm-bindgen-cli, npm ci of the edge's
#                    and the console's tools (idempotent)
#   edge_env       → the environment wrangler and worker-build need offline
#   edge_start PORT PERSIST_DIR LOG [ARGS…] → `wrangler dev --local` in the background,
#                    extra ARGS passed on; sets EDGE_PID (stop it with kill -INT)

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130

edge_install() {
    rustup target list --installed | grep -qx wasm32-unknown-unknown ||
        rustup target add wasm32-unknown-unknown
    if ! worker-build --version 2>/dev/null | grep -q " $WORKER_BUILD_VERSION"; then
        cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
    fi
    # Without --locked: its lockfile pins a crate version the registry no longer serves.
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    fi
    # npm ci again whenever the lock file changed since the last one (a stamp of its hash).
    local lock stamp=node_modules/.tollgate-lock.sha256
    lock=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$lock" ]; then
        npm ci --no-audit --no-fund --loglevel=error
        echo "$lock" >"$stamp"
    fi
}

edge_env() {
    export PATH="$HOME/.cargo/bin:$PATH"
    export WASM_BINDGEN_BIN=wasm-bindgen
    export WASM_OPT_BIN=$PWD/node_modules/binaryen/bin/wasm-opt
    export ESBUILD_BIN=$PWD/node_modules/@esbuild/linux-x64/bin/esbuild
    export WRANGLER_SEND_METRICS=false
    export WRANGLER_SEND_ERROR_REPORTS=false
    export CLOUDFLARE_CF_FETCH_ENABLED=false
    export WRANGLER_HIDE_BANNER=true
    export XDG_CONFIG_HOME=$PWD/.xdg
}

edge_start() {
    local port=$1 persist=$2 log=$3
    shift 3
    # Started as `node …`, not npx, so EDGE_PID is wrangler's own process.
    node node_modules/wrangler/bin/wrangler.js dev --local --ip 127.0.0.1 --port "$port" \
        --inspector-ip 127.0.0.1 --inspector-port "$(free_port)" \
        --show-interactive-dev-session=false --persist-to "$persist" "$@" \
        </dev/null >"$log" 2>&1 &
    EDGE_PID=$!
}
