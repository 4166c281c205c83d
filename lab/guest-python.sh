#!/usr/bin/env bash
# Builds the guest's optional python archive, $CACHE/python.cpio, from the host's
# python3 (called by prepare.sh; Lab appends it to the initramfs only with
# LabConfig::python, so default boots do not pay for it).
#
# What goes in: the interpreter (sys.executable, symlinks resolved) and every
# shared library ldd lists for it and for its extension modules, at their host
# paths, plus the standard library without test suites, idlelib, tkinter,
# turtledemo, ensurepip, lib2to3, pydoc_data, site-packages/dist-packages,
# config-*/ (the static libpython) and test extension modules. Byte code is kept
# only at the default optimization level (*.cpython-XY.pyc), so imports need not
# compile (measured: ~15 MB gzip'd, 35 MB unpacked for python 3.11).
# /usr/bin/python3 points at the interpreter. Files stay at their host
# paths (pyenv's /root/.pyenv/versions/X too), so python finds its prefix from its
# own location and needs no PYTHONHOME.
#
# Cached: rebuilt only when this script, the interpreter or its version changes.
#   usage: guest-python.sh CACHE_DIR        (LAB_PYTHON=/path/to/python3 picks another one)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=$(cd "${1:?usage: guest-python.sh CACHE_DIR}" && pwd)
PY=${LAB_PYTHON:-python3}
OUT=$CACHE/python.cpio
START=$SECONDS
log() { echo "[lab] $* ($((SECONDS - START)) s)" >&2; }

if ! command -v "$PY" >/dev/null 2>&1; then
    log "no $PY on this host: guests cannot have python (LabConfig::python)"
    rm -f "$OUT" "$CACHE/python.inputs"
    exit 0
fi
# sys.prefix and sys.version name the installation (pyenv or the distribution's);
# the resolved interpreter and stdlib paths are what gets copied.
info=$("$PY" -c 'import os, sys, sysconfig
print(os.path.realpath(sys.executable)); print(sysconfig.get_path("stdlib"))
print(sysconfig.get_path("platstdlib")); print(sys.prefix); print(sys.version.split()[0])
print("cpython-%d%d" % sys.version_info[:2])')
{
    read -r EXE
    read -r STDLIB
    read -r PLATSTDLIB
    read -r PREFIX
    read -r VERSION
    read -r TAG
} <<<"$info"
[ -x "$EXE" ] && [ -f "$STDLIB/os.py" ] || {
    echo "[lab] ERROR: $PY reports interpreter $EXE and stdlib $STDLIB, which do not exist" >&2
    exit 1
}

inputs=$(
    {
        sha256sum "$LAB_DIR/guest-python.sh"
        echo "$EXE $VERSION $PREFIX $STDLIB $PLATSTDLIB"
        stat -c '%s %Y' "$EXE" "$STDLIB" "$STDLIB/lib-dynload" 2>/dev/null || true
        ldd "$EXE" | sed "s/ (0x.*)//"
        sha256sum "$CACHE/base.cpio.gz" # files the base already has are left out
    } | sha256sum | cut -d' ' -f1
)
if [ -f "$OUT" ] && [ "$(cat "$CACHE/python.inputs" 2>/dev/null)" = "$inputs" ]; then
    log "guest python up to date ($OUT: python $VERSION from $PREFIX)"
    exit 0
fi

log "building guest python archive: python $VERSION from $PREFIX"
STAGE=$CACHE/python-stage
rm -rf "$STAGE"
# Merged-/usr layout like the base initramfs (bin -> usr/bin, ...).
mkdir -p "$STAGE"/usr/{bin,sbin,lib,lib64}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$STAGE/$d"; done
# Files the base initramfs has already (libc, the loader, ...) are not copied again.
usr_path() { realpath -s "$1" | sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#'; }
have=$(gzip -dc "$CACHE/base.cpio.gz" | cpio -t --quiet 2>/dev/null | sed 's#^\./##; s#^#/#')

copy_libs_of() {
    local lib
    for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
        grep -qxF "$(usr_path "$lib")" <<<"$have" && continue
        [ -e "$STAGE$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$STAGE$lib"
    done
}

install -D -m 0755 "$EXE" "$STAGE$EXE"
copy_libs_of "$EXE"
[ "$EXE" = /usr/bin/python3 ] || ln -sf "$EXE" "$STAGE/usr/bin/python3"

# The standard library: the top-level modules, the packages (directories with an
# __init__.py: anything else in there, like a stray build tree, is not stdlib) and
# lib-dynload; of those only .py, .so and the default-level byte code.
SKIP_DIRS=(test tests idle_test idlelib tkinter turtledemo ensurepip lib2to3 pydoc_data
    site-packages dist-packages)
skip_args=()
for d in "${SKIP_DIRS[@]}"; do skip_args+=(-o -name "$d"); done
copy_tree() {
    local src=$1 top=() e
    for e in "$src"/*; do
        case ${e##*/} in __pycache__ | lib-dynload) top+=("${e##*/}") ;; esac
        [ -f "$e" ] || [ -f "$e/__init__.py" ] || continue
        top+=("${e##*/}")
    done
    (cd "$src" && find "${top[@]}" \( -type d \( -name '.*' "${skip_args[@]}" \) -prune \) -o \
        \( -type f \( -name '*.py' -o -name "*.$TAG.pyc" -o -name '*.so' \) \
        ! -name '_test*' ! -name '_ctypes_test*' ! -name '_xxtestfuzz*' ! -name 'xxlimited*' \
        ! -name '_tkinter*' ! -name 'turtle.*' -print0 \)) |
        (cd "$src" && cpio --null -pdm --quiet "$STAGE$src")
}
copy_tree "$STDLIB"
case $PLATSTDLIB in "$STDLIB" | "$STDLIB"/*) ;; *) copy_tree "$PLATSTDLIB" ;; esac
for so in $(find "$STAGE$STDLIB" "$STAGE$PLATSTDLIB" -name '*.so' 2>/dev/null | sort -u); do
    copy_libs_of "$so"
done
# Debug info is most of a self-built python (pyenv): the guest has no use for it.
if command -v strip >/dev/null; then
    find "$STAGE" -type f \( -name '*.so' -o -name '*.so.*' -o -path "$STAGE$EXE" \) \
        -exec strip --strip-debug {} +
fi

# Not compressed: under TCG the guest kernel unpacks a gzip archive at about
# 35 MB/s, so gzip would cost about 1 s of every python boot instead of 0.45 s.
(cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner=0:0 --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$inputs" >"$CACHE/python.inputs"
files=$(find "$STAGE" -type f | wc -l)
unpacked=$(du -sh "$STAGE" | cut -f1)
rm -rf "$STAGE"
log "guest python ready: $OUT ($(du -h "$OUT" | cut -f1), $files files, $unpacked unpacked)"
