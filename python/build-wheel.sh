#!/usr/bin/env bash
# Builds the Python module's wheel from this checkout, as CI does from a fresh
# clone: a virtual environment in target/python-venv (the host's python3, or
# $LAB_PYTHON), maturin (and mypy, for the stubs' test) pinned below installed
# into it from PyPI, then
# `maturin build --release` into target/wheels/. The wheel (abi3: one for
# CPython 3.9 and later) is installed into the venv, for the host-side tests,
# and unpacked into target/python-guest/, which tests/vm_python.rs copies into
# the lab guest (PYTHONPATH there). Prints the wheel's path on stdout; any
# failure exits non-zero.
#
#   python/build-wheel.sh            (from anywhere; root only to apt-get python3-venv)
#   python/build-wheel.sh --dev      the dev profile (what the tests use: it
#                                    reuses the debug build of `cargo test` and
#                                    takes half the time; a wheel to ship is --release)
#   python/build-wheel.sh --dev --crate examples/blinky/python
#                                    the same module built by a driver crate with
#                                    its driver (mmiodrv_python::init): its wheel in
#                                    target/wheels/CRATE/, unpacked in
#                                    target/python-CRATE/ (import it with PYTHONPATH
#                                    there), not installed in the venv
set -euo pipefail

MATURIN_VERSION=1.16.0
# The stubs are checked with mypy (tests/vm_python.rs), installed beside maturin.
MYPY_VERSION=2.4.1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${LAB_PYTHON:-python3}
VENV=$REPO/target/python-venv
START=$SECONDS
log() { echo "[wheel] $* ($((SECONDS - START)) s)" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -m venv "$VENV" >&2; then
        rm -rf "$VENV"
        # Debian's python3 makes virtual environments only with python3-venv.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            log "installing python3-venv"
            apt-get install -y -q python3-venv >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-venv >&2; }
            "$PY" -m venv "$VENV" >&2
        else
            echo "[wheel] ERROR: $PY -m venv failed: install python3-venv (sudo apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
    log "virtual environment $VENV ($("$VENV/bin/python" --version))"
fi
if [ "$("$VENV/bin/maturin" --version 2>/dev/null)" != "maturin $MATURIN_VERSION" ] ||
    ! "$VENV/bin/mypy" --version 2>/dev/null | grep -q "^mypy $MYPY_VERSION "; then
    log "pip install maturin==$MATURIN_VERSION mypy==$MYPY_VERSION"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
        "maturin==$MATURIN_VERSION" "mypy==$MYPY_VERSION" >&2
fi

PROFILE=(--release)
CRATE=python
while [ $# -gt 0 ]; do
    case $1 in
    --dev) PROFILE=(--profile dev --strip) ;;
    --crate) CRATE=${2:?--crate needs a directory}; shift ;;
    *) echo "[wheel] ERROR: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$CRATE" = python ]; then
    OUT=$REPO/target/wheels UNPACK=$REPO/target/python-guest
else
    name=$(basename "$(dirname "$REPO/$CRATE")")
    OUT=$REPO/target/wheels/$name UNPACK=$REPO/target/python-$name
fi
mkdir -p "$OUT"
rm -f "$OUT"/mmiodrv*.whl
log "maturin build ${PROFILE[*]} -m $CRATE/Cargo.toml"
(cd "$REPO" && "$VENV/bin/maturin" build "${PROFILE[@]}" --locked -m "$CRATE/Cargo.toml" --out "$OUT" >&2)
wheels=("$OUT"/mmiodrv*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || {
    echo "[wheel] ERROR: expected one wheel in $OUT, found: ${wheels[*]}" >&2
    exit 1
}
wheel=${wheels[0]}
if [ "$CRATE" = python ]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --force-reinstall "$wheel" >&2
fi
rm -rf "$UNPACK"
"$VENV/bin/python" -m zipfile -e "$wheel" "$UNPACK"
log "$(basename "$wheel"): $(du -h "$wheel" | cut -f1), unpacked in ${UNPACK#"$REPO"/}"
echo "$wheel"
