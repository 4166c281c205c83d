#!/usr/bin/env bash
# Frame rates of the e1000 data path against the kernel's e1000 driver on
# the same QEMU hub (issue 27; not a timed test: run it by hand, copy the
# figures into docs/performance.md and the README's Cost table).
#
#   benches/e1000.sh            ROUNDS interleaved rounds (default 5), medians
#
# One boot of the lab with LabConfig::e1000_pair: e1000s at 00:07.0 and
# 00:0e.0 on hub 0, two vCPUs (QEMU TCG, -smp 2). Frames of 60 and 1514 bytes (64
# and 1518 on the wire with the CRC). In each round, for each size:
#
#   tx, mmiodrv   00:0e.0 through VFIO: e1000 tx --count TX_N, polling and --irq
#   tx, kernel    eth0 (00:07.0, the kernel's e1000): af_packet send, TX_N
#                 frames with sendmmsg in batches of 32 (benches/baseline/af_packet.c)
#       Both to an address nobody has, with the other NIC's receiver off: the
#       frames die in QEMU's model, so the figure is the sender's alone.
#   rx, mmiodrv   00:0e.0 through VFIO: e1000 rx --count RX_N, polling and --irq
#   rx, kernel    00:0e.0 under the kernel's e1000: af_packet recv, RX_N
#                 frames with recvmmsg (each copied to the process, as
#                 mmiodrv copies each out of its ring)
#       The sender is the same for all: mmiodrv e1000 tx on 00:07.0 (bound
#       to vfio-pci for it), sending until the receiver has its frames. The
#       guest has two vCPUs: the receiver runs on CPU 0 with every interrupt
#       handler (taskset, /proc/irq/default_smp_affinity), the sender on CPU
#       1, so the receiver has a CPU of its own, as a polling driver wants.
#       (The host has two cores, shared: a polling receiver's vCPU spins and
#       takes host time the sender's vCPU then lacks.)
#       Rates run from the first frame received to the last. Frames QEMU
#       queued for a receiver that was off are drained before each run.
#
# Needs gcc that links statically. Output: target/bench/e1000-guest.txt
# (raw), the medians table on stdout.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
ROUNDS=${ROUNDS:-5} TX_N=${TX_N:-50000} RX_N=${RX_N:-20000}
OUT=$REPO/target/bench
mkdir -p "$OUT"
TRIPLE=x86_64-unknown-linux-gnu
MMIODRV=$REPO/target/static/$TRIPLE/release/mmiodrv

gcc -O2 -static -o "$OUT/af_packet" benches/baseline/af_packet.c
CARGO_TARGET_DIR=$REPO/target/static RUSTFLAGS="$(cat lab/guest-rustflags)" \
    cargo build --release --target "$TRIPLE" -q --bin mmiodrv

cat >"$OUT/e1000-guest.sh" <<GUEST
set -u
A=0000:00:07.0 B=0000:00:0e.0 MAC_A=52:54:00:12:34:56 MAC_B=52:54:00:12:34:57 NOBODY=02:00:00:00:00:01
AFP=/root/af_packet
# Two vCPUs: what is measured runs on CPU 0 (taskset 1), with every
# interrupt handler there too (default_smp_affinity: the NICs' are set up later); the receive runs' sender (00:07.0 through VFIO) on CPU 1.
ON0="taskset 1" ON1="taskset 2"
echo 1 > /proc/irq/default_smp_affinity
SENDER="\$ON1 mmiodrv --device \$A e1000 tx --count 4000000000 --dst \$MAC_B --timeout 120000"
iface() { ls /sys/bus/pci/devices/\$1/net 2>/dev/null; }
up() { # IFACE: up with its link, and past QEMU's one-second hold after RCTL is written
    ip link set \$1 up
    i=0; until [ "\$(cat /sys/class/net/\$1/carrier)" = 1 ] || [ \$i -ge 50 ]; do i=\$((i+1)); sleep 0.1; done
    sleep 1.2
}
field() { # KEY JSON: a number from mmiodrv's JSON
    echo "\$2" | tr ',{}' '\n\n\n' | sed -n "s/^\"\$1\":\([0-9.e+]*\)\$/\1/p" | head -n1
}
kv() { echo "\$2" | tr ' ' '\n' | sed -n "s/^\$1=//p"; }
mmiodrv --device \$B bind vfio-pci >/dev/null
for round in \$(seq $ROUNDS); do
    # ---- 00:07.0 under the kernel (eth0), 00:0e.0 through VFIO
    E=\$(iface \$A)
    for size in 60 1514; do
        ip link set \$E down
        for mode in poll irq; do
            j=\$(\$ON0 mmiodrv --device \$B --json e1000 tx --count $TX_N --size \$size --dst \$NOBODY --\$mode)
            echo "tx-\$mode-\$size \$(field packets_per_second "\$j")"
        done
        up \$E
        k=\$(\$ON0 \$AFP send \$E \$NOBODY $TX_N \$size)
        echo "tx-kernel-\$size \$(kv pps "\$k")"
    done
    ip link set \$E down
    # ---- 00:07.0 through VFIO (the sender), 00:0e.0 the receiver
    mmiodrv --device \$A bind vfio-pci >/dev/null
    for size in 60 1514; do
        for mode in poll irq; do
            # Frames QEMU queued for 00:0e.0 while its receiver was off (the
            # last sender's tail) arrive a second after RCTL is written: take them first.
            mmiodrv --device \$B e1000 rx --count 100000000 --timeout 1300 >/dev/null 2>&1
            \$ON0 mmiodrv --device \$B --json e1000 rx --count $RX_N --timeout 60000 --\$mode > /tmp/rx.json & rx=\$!
            sleep 1.5
            \$SENDER --size \$size >/dev/null 2>&1 & tx=\$!
            wait \$rx; kill -INT \$tx; wait \$tx
            j=\$(cat /tmp/rx.json)
            echo "rx-\$mode-\$size \$(field packets_per_second "\$j") dropped \$(field dropped "\$j")"
        done
    done
    mmiodrv --device \$B bind --restore >/dev/null
    F=\$(iface \$B)
    up \$F
    for size in 60 1514; do
        \$ON0 \$AFP recv \$F $RX_N 60000 > /tmp/rx.txt & rx=\$!
        sleep 0.5
        \$SENDER --size \$size >/dev/null 2>&1 & tx=\$!
        wait \$rx; kill -INT \$tx; wait \$tx
        echo "rx-kernel-\$size \$(kv pps "\$(tail -n1 /tmp/rx.txt)")"
    done
    ip link set \$F down
    mmiodrv --device \$B bind vfio-pci >/dev/null
    mmiodrv --device \$A bind --restore >/dev/null
done
GUEST

LAB_MMIODRV=$MMIODRV lab/run --e1000-pair --qemu -smp --qemu 2 --timeout 3600 --put "$OUT/af_packet" --put "$OUT/e1000-guest.sh" \
    --exec 'sh /root/e1000-guest.sh' | tr -d '\r' | tee "$OUT/e1000-guest.txt" >&2
python3 - "$OUT/e1000-guest.txt" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 2:
        try:
            t.setdefault(parts[0], []).append(float(parts[1]))
        except ValueError:
            pass
rounds = len(t.get("tx-poll-60", []))
print(f"guest (TCG, two vCPUs), {rounds} interleaved rounds, medians, frames per second:")
print(f"  {'':40s} {'polling':>9s} {'interrupts':>10s} {'kernel':>9s}  ratio (best mmiodrv / kernel)")
for way in ("tx", "rx"):
    for size in (60, 1514):
        p, i, k = (statistics.median(t[f"{way}-{who}-{size}"]) for who in ("poll", "irq", "kernel"))
        label = f"{way} {size}-byte frames ({size + 4} on the wire)"
        print(f"  {label:40s} {p:9.0f} {i:10.0f} {k:9.0f}  {max(p, i) / k:5.2f}x")
PY
