#!/usr/bin/env bash
# The library's interrupt and DMA costs against the kernel's VFIO interface
# used directly (issue 27; not a timed test: run it by hand, copy the figures
# into docs/performance.md and the README's Cost table).
#
#   benches/vfio_costs.sh       ROUNDS interleaved rounds (default 5), medians
#
# examples/vfio_costs.rs (the library: Device, Edu, Ivshmem, Interrupts,
# DmaBuffer, BufferPool) against benches/baseline/vfio_costs.c (container,
# group, device fd, mmap, eventfds, VFIO_IOMMU_MAP_DMA: the floor), both
# static, in one boot of the lab with two ivshmem-doorbell devices (00:06.0
# and 00:0e.0, one MSI-X vector each) connected to `mmiodrv ivshmem-server`
# on the host. In each round, each program in turn:
#
#   irq       edu (00:04.0) IRQ_N times: IRQ_RAISE, and the thread waiting on
#             the MSI's eventfd wakes (time from the raise to the wake-up)
#   pingpong  PING_N round trips between two processes, one ivshmem-doorbell
#             each: ring the other's vector, wait for ours (MSI-X)
#   dmamap    MAP_N buffers of 4 KiB mapped for edu one by one, then unmapped
#             (the library: DmaBuffer each, and one BufferPool of them all)
#
# Medians over the rounds of each run's median (latencies) or mean (DMA).
# Needs gcc that links statically. Output: target/bench/vfio-guest.txt (raw).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
ROUNDS=${ROUNDS:-5} IRQ_N=${IRQ_N:-2000} PING_N=${PING_N:-2000} MAP_N=${MAP_N:-256}
OUT=$REPO/target/bench
mkdir -p "$OUT"
TRIPLE=x86_64-unknown-linux-gnu
STATIC=$REPO/target/static/$TRIPLE/release

gcc -O2 -static -pthread -o "$OUT/vfio_costs_c" benches/baseline/vfio_costs.c
CARGO_TARGET_DIR=$REPO/target/static RUSTFLAGS="$(cat lab/guest-rustflags)" \
    cargo build --release --target "$TRIPLE" -q --bin mmiodrv --example vfio_costs
cargo build -q --bin mmiodrv

RUN=$(mktemp -d)
SERVER=
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT
"$REPO/target/debug/mmiodrv" ivshmem-server --socket "$RUN/ivshmem.sock" --shm "$RUN/ivshmem.shm" \
    --size 1M --vectors 1 >"$RUN/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$RUN/server.log" && break; sleep 0.05; done

cat >"$OUT/vfio-guest.sh" <<GUEST
set -eu
EDU=0000:00:04.0 P=0000:00:06.0 Q=0000:00:0e.0
id() { mmiodrv --device \$1 --json ivshmem info | tr ',' '\n' | sed -n 's/.*"peer_id":\([0-9]*\).*/\1/p'; }
for d in \$EDU \$P \$Q; do mmiodrv --device \$d bind vfio-pci >/dev/null; done
PID_P=\$(id \$P) PID_Q=\$(id \$Q)
for round in \$(seq $ROUNDS); do
    for prog in rust c; do
        if [ \$prog = rust ]; then X=/root/vfio_costs; else X=/root/vfio_costs_c; fi
        echo "\$prog \$(\$X irq \$EDU $IRQ_N)"
        rm -f /tmp/pong.txt
        \$X pingpong \$Q \$PID_P $PING_N pong > /tmp/pong.txt & pong=\$!
        until grep -qs ready /tmp/pong.txt; do sleep 0.05; done
        echo "\$prog \$(\$X pingpong \$P \$PID_Q $PING_N ping)"
        wait \$pong
        echo "\$prog \$(\$X dmamap \$EDU $MAP_N 4096)"
    done
done
GUEST

LAB_MMIODRV=$STATIC/mmiodrv lab/run --timeout 3600 \
    --qemu -chardev --qemu "socket,id=ivs0,path=$RUN/ivshmem.sock" \
    --qemu -device --qemu "ivshmem-doorbell,chardev=ivs0,vectors=1,addr=06.0" \
    --qemu -chardev --qemu "socket,id=ivs1,path=$RUN/ivshmem.sock" \
    --qemu -device --qemu "ivshmem-doorbell,chardev=ivs1,vectors=1,addr=0e.0" \
    --put "$STATIC/examples/vfio_costs" --put "$OUT/vfio_costs_c" --put "$OUT/vfio-guest.sh" \
    --exec 'sh /root/vfio-guest.sh' | tr -d '\r' | tee "$OUT/vfio-guest.txt" >&2
python3 - "$OUT/vfio-guest.txt" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) < 3 or parts[0] not in ("rust", "c"):
        continue
    who, what = parts[0], parts[1]
    for kv in parts[2:]:
        k, _, v = kv.partition("=")
        t.setdefault((who, what, k), []).append(float(v))
med = lambda who, what, k: statistics.median(t[(who, what, k)])
rounds = len(t[("rust", "irq", "median_us")])
print(f"guest (TCG), {rounds} interleaved rounds, medians of the rounds, microseconds:")
rows = [
    ("edu IRQ_RAISE to the waiting thread's wake-up (median)", "irq", "median_us", "median_us"),
    ("edu IRQ_RAISE to the waiting thread's wake-up (p90)", "irq", "p90_us", "p90_us"),
    ("ivshmem-doorbell MSI-X round trip, two processes (median)", "pingpong", "median_us", "median_us"),
    ("ivshmem-doorbell MSI-X round trip, two processes (p90)", "pingpong", "p90_us", "p90_us"),
    ("map one 4 KiB DMA buffer (DmaBuffer)", "dmamap", "map_us", "map_us"),
    ("unmap it (drop)", "dmamap", "unmap_us", "unmap_us"),
    ("map 4 KiB as part of one BufferPool", "dmamap", "pool_map_us", "map_us"),
    ("unmap it (BufferPool dropped)", "dmamap", "pool_unmap_us", "unmap_us"),
]
print(f"  {'':58s} {'mmiodrv':>9s} {'C floor':>9s}  ratio")
for label, what, rk, ck in rows:
    r, c = med("rust", what, rk), med("c", what, ck)
    print(f"  {label:58s} {r:9.2f} {c:9.2f}  {r / c:5.2f}x")
PY
