#!/usr/bin/env bash
# ivshmem bulk-copy benchmark (not a test): MmioRegion's volatile bulk copies
# into/out of shared memory against memcpy between two RAM buffers.
#
#   benches/ivshmem_copy.sh            host file mapping, then BAR2 in the lab guest
#   benches/ivshmem_copy.sh host       host only (no root or QEMU needed)
#
# Host: a /dev/shm file mapped like `--device file:PATH` does (1 MiB, cache
# resident, and 64 MiB, memory bound). Guest: ivshmem-plain's BAR2 at 00:05.0
# through sysfs and through VFIO (needs root and the lab, see lab/README.md).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# Rounds are interleaved (memcpy, write, read, fill, again); the best of each
# counts. A 1 MiB host round takes ~0.2 ms, so it gets 5x the rounds against noise.
ROUNDS=${ROUNDS:-100}
GUEST_ROUNDS=${GUEST_ROUNDS:-20}

cargo build --release -q --bin mmiodrv
BIN=$REPO/target/release/mmiodrv
SHM=$(mktemp /dev/shm/mmiodrv-bench-XXXXXX)
trap 'rm -f "$SHM"' EXIT
truncate -s 64M "$SHM"
echo "== host: $(uname -r), $(nproc) CPUs"
"$BIN" --device "file:$SHM" ivshmem bench --size 1M --rounds "$((ROUNDS * 5))"
"$BIN" --device "file:$SHM" ivshmem bench --size 64M --rounds "$ROUNDS"

[ "${1:-}" = host ] && exit 0
echo "== guest (QEMU TCG): ivshmem-plain BAR2, sysfs then VFIO"
lab/run --exec "mmiodrv --device 00:05.0 ivshmem bench --rounds $GUEST_ROUNDS &&
    mmiodrv --device 00:05.0 bind vfio-pci >/dev/null &&
    mmiodrv --device 00:05.0 ivshmem bench --rounds $GUEST_ROUNDS"
