#!/usr/bin/env bash
# What one register read costs, one-shot and in a batch, against the floors
# (issue 13's three figures; not a timed test: run it by hand, copy the
# figures into the README's "Scripts and one-shot cost" section).
#
#   benches/oneshot.sh            host (callgrind) and guest (lab) figures
#   benches/oneshot.sh host       host only      benches/oneshot.sh guest   guest only
#
# Host: instructions (callgrind) on a fake sysfs tree (domain ffff:, so nothing
# can reach a real device), static binaries: `mmiodrv read 0x0 --quiet` against
# benches/baseline/mmio_read.c (open, mmap, one load, print: what devmem and
# pcimem do; PCIMEM=/path/to/pcimem adds pcimem itself), and the cost of one
# line of a batch (N and 2N lines, the difference over N, start-up excluded).
#
# Guest: one boot of the lab, ROUNDS interleaved rounds (default 5); in each,
# RUNS (default 20) invocations of mmiodrv read, busybox devmem and mmio_read
# on edu's ID, then a batch of N=10,000 reads of ID against a C loop of
# RAW_N=1,000,000 volatile loads through resource0 (per operation: the
# (count+1)-op run minus the 1-op run, over count, so start-up cancels; the
# loop needs many more loads than the batch to rise above the noise of a
# process start). Medians of the rounds.
# Needs valgrind (host) and gcc that links statically (both).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
WHAT=${1:-all}
ROUNDS=${ROUNDS:-5} RUNS=${RUNS:-20} N=${N:-10000} RAW_N=${RAW_N:-1000000}
OUT=$REPO/target/bench
mkdir -p "$OUT"
TRIPLE=x86_64-unknown-linux-gnu
MMIODRV=$REPO/target/static/$TRIPLE/release/mmiodrv

gcc -O2 -static -o "$OUT/mmio_read" benches/baseline/mmio_read.c
gcc -O2 -static -o "$OUT/timeit" benches/baseline/timeit.c
CARGO_TARGET_DIR=$REPO/target/static RUSTFLAGS="$(cat lab/guest-rustflags)" \
    cargo build --release --target "$TRIPLE" -q --bin mmiodrv

script() { # LINE[|LINE...] COUNT FILE: COUNT lines, cycling through the LINEs
    awk -v lines="$1" -v n="$2" 'BEGIN { k = split(lines, l, "|"); for (i = 0; i < n; i++) print l[i % k + 1] }' >"$3"
}

host() {
    command -v valgrind >/dev/null || { echo "oneshot: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
    local root dev
    root=$(mktemp -d)
    trap 'rm -rf "$root"' RETURN
    dev=$root/sys/bus/pci/devices/ffff:00:04.0
    mkdir -p "$dev"
    python3 - "$dev" <<'PY'
import struct, sys
d = sys.argv[1]
cfg = bytearray(256)
struct.pack_into("<HHHH", cfg, 0, 0x1234, 0x11E8, 0x0007, 0x0010)
struct.pack_into("<I", cfg, 0x08, 0x00FF0010)
struct.pack_into("<I", cfg, 0x10, 0xFE000000)
open(d + "/config", "wb").write(cfg)
lines = ["0x00000000fe000000 0x00000000fe0fffff 0x0000000000040200"] + ["0x%016x 0x%016x 0x%016x" % (0, 0, 0)] * 12
open(d + "/resource", "w").write("\n".join(lines) + "\n")
open(d + "/class", "w").write("0x00ff00\n")
open(d + "/vendor", "w").write("0x1234\n")
open(d + "/device", "w").write("0x11e8\n")
bar = bytearray(1 << 20)
struct.pack_into("<I", bar, 0, 0x010000ED)
open(d + "/resource0", "wb").write(bar)
PY
    export MMIODRV_SYSFS_ROOT=$root/sys MMIODRV_FAKE_SYSFS_ONLY=1
    count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
    local m c p b1 b2
    m=$(count "$MMIODRV" --device ffff:00:04.0 read 0x0 --quiet)
    c=$(count "$OUT/mmio_read" "$dev/resource0" 0)
    echo "host, callgrind instructions, one read of 0x0 on a fake sysfs tree (static binaries):"
    printf '  %-40s %9d\n' "mmio_read.c (open, mmap, load, print)" "$c"
    if [ -n "${PCIMEM:-}" ]; then
        p=$(count "$PCIMEM" "$dev/resource0" 0 w)
        printf '  %-40s %9d\n' "pcimem" "$p"
    fi
    printf '  %-40s %9d  (%s x mmio_read%s)\n' "mmiodrv read 0x0 --quiet" "$m" "$(echo "scale=1; $m / $c" | bc)" \
        "${p:+, $(echo "scale=1; $m / $p" | bc) x pcimem}"
    echo "host, callgrind instructions per batch line (2N minus N lines, over N=$N):"
    for line in "read 0x0 --quiet" "read ID" "read ID|read STATUS"; do
        # LINE|LINE: the two lines alternating (no line repeats the one before).
        script "$line" "$N" "$OUT/b1.txt"
        script "$line" "$((2 * N))" "$OUT/b2.txt"
        b1=$(count "$MMIODRV" --device ffff:00:04.0 batch "$OUT/b1.txt")
        b2=$(count "$MMIODRV" --device ffff:00:04.0 batch "$OUT/b2.txt")
        printf '  %-40s %9s\n' "${line//|/ / }" "$(((b2 - b1) / N))"
    done
}

guest() {
    script "read ID" "$((N + 1))" "$OUT/reads-n.txt"
    script "read ID" 1 "$OUT/reads-1.txt"
    script "read 0x0 --quiet" "$((N + 1))" "$OUT/quiet-n.txt"
    script "read 0x0 --quiet" 1 "$OUT/quiet-1.txt"
    cat >"$OUT/oneshot-guest.sh" <<GUEST
set -e
D=/sys/bus/pci/devices/0000:00:04.0
BAR0=\$(head -n1 \$D/resource | cut -d' ' -f1)
R="mmiodrv --device 0000:00:04.0"
T=/root/timeit
for round in \$(seq $ROUNDS); do
    echo "mmiodrv \$(\$T $RUNS \$R read 0x0 --quiet)"
    echo "devmem \$(\$T $RUNS busybox devmem \$BAR0 32)"
    echo "mmio_read \$(\$T $RUNS /root/mmio_read \$D/resource0 0)"
    echo "batch-n \$(\$T 1 \$R batch /root/reads-n.txt)"
    echo "batch-1 \$(\$T 1 \$R batch /root/reads-1.txt)"
    echo "quiet-n \$(\$T 1 \$R batch /root/quiet-n.txt)"
    echo "quiet-1 \$(\$T 1 \$R batch /root/quiet-1.txt)"
    echo "raw-n \$(\$T 1 /root/mmio_read \$D/resource0 0 $((RAW_N + 1)))"
    echo "raw-1 \$(\$T 1 /root/mmio_read \$D/resource0 0 1)"
done
GUEST
    local puts=()
    for f in timeit mmio_read oneshot-guest.sh reads-n.txt reads-1.txt quiet-n.txt quiet-1.txt; do
        puts+=(--put "$OUT/$f")
    done
    LAB_MMIODRV=$MMIODRV lab/run "${puts[@]}" --exec 'sh /root/oneshot-guest.sh' | tr -d '\r' | tee "$OUT/guest.txt" >&2
    python3 - "$OUT/guest.txt" "$RUNS" "$N" "$RAW_N" <<'PY'
import statistics, sys
runs, n, raw_n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        t.setdefault(parts[0], []).append(int(parts[1]))
med = lambda k: statistics.median(t[k])
one = {k: med(k) / runs / 1000 for k in ("mmiodrv", "devmem", "mmio_read")}
per = lambda k, n=n: (med(k + "-n") - med(k + "-1")) / n * 1000  # ns per op
rounds = len(t["mmiodrv"])
print(f"guest (TCG), {rounds} interleaved rounds of {runs} invocations, medians, ms per invocation:")
for k, label in (("mmio_read", "mmio_read.c"), ("devmem", "busybox devmem"), ("mmiodrv", "mmiodrv read 0x0 --quiet")):
    print(f"  {label:40s} {one[k]:7.2f}  ({one[k] / one['devmem']:.2f} x devmem)")
raw, full, quiet = per("raw", raw_n), per("batch"), per("quiet")
print(f"guest, batch of {n} reads of edu ID, ns per operation (start-up excluded):")
print(f"  {'C loop of volatile loads (floor)':40s} {raw:7.0f}  ({raw_n} loads)")
print(f"  {'batch: read 0x0 --quiet':40s} {quiet:7.0f}  ({quiet / raw:.1f} x floor, {one['mmiodrv'] * 1e6 / quiet:.0f} x faster than one-shot)")
print(f"  {'batch: read ID (decoded line)':40s} {full:7.0f}  ({full / raw:.1f} x floor, {one['mmiodrv'] * 1e6 / full:.0f} x faster than one-shot)")
PY
}

case $WHAT in
host) host ;;
guest) guest ;;
all) host; guest ;;
*) echo "usage: $0 [host|guest|all]" >&2; exit 2 ;;
esac
