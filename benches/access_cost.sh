#!/usr/bin/env bash
# Instructions per 32-bit register access on RAM, counted by callgrind (not a
# timed test): each mode of benches/register_io.rs runs N and 2N accesses, and
# the difference divided by N is the cost of one access, start-up excluded.
# The floor is a raw read_volatile loop over the same offsets.
#
#   benches/access_cost.sh        (needs valgrind: apt-get install valgrind)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
command -v valgrind >/dev/null || { echo "access_cost: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
N=${N:-1000000}
cargo build --release -q --bench register_io
BIN=$(find target/release/deps -maxdepth 1 -type f -executable -name 'register_io-*' -newer benches/register_io.rs | head -n1)
[ -n "$BIN" ] || BIN=$(ls -t target/release/deps/register_io-* | grep -v '\.d$' | head -n1)

count() { # MODE N -> instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_access() { # MODE -> instructions per access (2 decimals)
    local a b
    a=$(count "$1" "$N")
    b=$(count "$1" "$((2 * N))")
    echo "scale=2; ($b - $a) / $N" | bc
}

row() { # LABEL MODE FLOOR
    local v
    v=$(per_access "$2")
    printf '  %-44s %6s  (%s x raw)\n' "$1" "$v" "$(echo "scale=2; $v / $3" | bc)"
}
echo "instructions per 32-bit access on RAM (callgrind, N=$N)"
raw=$(per_access raw-poll)
echo "polling one register (a driver waiting on STATUS):"
printf '  %-44s %6s\n' "raw read_volatile loop (floor)" "$raw"
row "Reg<u32, RO>::read on MmioRegion" typed-poll "$raw"
row "Reg<u32, RO>::read on &dyn RegisterIo" dyn-poll "$raw"
raw=$(per_access raw)
echo "walking offsets (each access at another offset):"
printf '  %-44s %6s\n' "raw read_volatile loop (floor; unrolled 4x)" "$raw"
row "RegisterIo::read on MmioRegion" region "$raw"
row "Reg<u32, RO>::read on MmioRegion" typed "$raw"
row "RegisterIo::read on &dyn RegisterIo" dyn "$raw"
raw=$(per_access raw-write)
printf '  %-44s %6s\n' "raw write_volatile loop (floor)" "$raw"
row "RegisterIo::write on MmioRegion" write "$raw"
