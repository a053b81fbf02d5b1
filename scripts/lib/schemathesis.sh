# shellcheck shell=bash
# schemathesis (the outside API fuzzer of the end-to-end tests) in a virtual environment
# of its own, every package pinned in scripts/schemathesis-requirements.txt. Source this
# file, then `schemathesis_install`: idempotent, and a changed requirements file gets a
# fresh environment. Sets SCHEMATHESIS_BIN, and SCHEMATHESIS_PYTHON (the environment's
# interpreter, which runs the tests' SMTP server, aiosmtpd, pinned there too).

SCHEMATHESIS_VENV=${SCHEMATHESIS_VENV:-$PWD/.tollgate/schemathesis}
SCHEMATHESIS_BIN=$SCHEMATHESIS_VENV/bin/schemathesis
SCHEMATHESIS_PYTHON=$SCHEMATHESIS_VENV/bin/python

schemathesis_install() {
    local requirements=scripts/schemathesis-requirements.txt
    local stamp=$SCHEMATHESIS_VENV/.requirements
    if [ -x "$SCHEMATHESIS_BIN" ] && cmp -s "$requirements" "$stamp"; then
        return
    fi
    echo "installing schemathesis (pinned) into $SCHEMATHESIS_VENV" >&2
    rm -rf "$SCHEMATHESIS_VENV"
    python3 -m venv "$SCHEMATHESIS_VENV"
    # Exactly the pinned set: --no-deps, so nothing unpinned comes along.
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        -r "$requirements" >&2
    cp "$requirements" "$stamp"
}
