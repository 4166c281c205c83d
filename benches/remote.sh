#!/usr/bin/env bash
# What --host costs over loopback SSH (issue 26's figures; not a timed test:
# run it by hand, copy the figures into docs/remote.md).
#
#   benches/remote.sh
#
# An SSH server on this machine's loopback (Debian's dropbear, run as nobody
# with its own host key and authorized_keys in a temp dir, nss_wrapper for
# its user: as tests/common/sshd.rs), a simulated edu (sim: its map), the
# static release build on both sides (the far side's copy made first,
# untimed). ROUNDS interleaved rounds (default 7), medians of the rounds:
#
# One-shot read (RUNS runs each per round, default 20, the mean of a run):
#   ssh true        ssh's own round trip on the shared connection (ControlMaster)
#   ssh mmiodrv     the far side's mmiodrv run by hand through it
#   --host          mmiodrv --host H ... read ID
#   local           mmiodrv ... read ID
# Throughput, N (default 10,000) reads of ID:
#   batch FILE      local, and --host
#   pipe (--json)   `batch -` with N lines on stdin, local and --host
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
ROUNDS=${ROUNDS:-7} RUNS=${RUNS:-20} N=${N:-10000}
OUT=$REPO/target/bench
mkdir -p "$OUT"
TRIPLE=x86_64-unknown-linux-gnu
MMIODRV=$REPO/target/static/$TRIPLE/release/mmiodrv
CARGO_TARGET_DIR=$REPO/target/static RUSTFLAGS="$(cat lab/guest-rustflags)" \
    cargo build --release --target "$TRIPLE" -q --bin mmiodrv
gcc -O2 -o "$OUT/timeit" benches/baseline/timeit.c

T=$(mktemp -d /tmp/mmiodrv-bench-ssh.XXXXXX)
chmod 755 "$T"
cleanup() { [ -f "$T/pid" ] && kill "$(cat "$T/pid")" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/home/.ssh"
uid=$(id -u) gid=$(id -g)
[ "$uid" = 0 ] && uid=65534 gid=65534
echo "bench:x:$uid:$gid:bench:$T/home:/bin/sh" >"$T/passwd"
echo "bench:x:$gid:" >"$T/group"
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
cp "$T/id.pub" "$T/home/.ssh/authorized_keys"
chmod 700 "$T/home/.ssh"
dropbearkey -t ed25519 -f "$T/hostkey" >/dev/null 2>&1
cp tests/data/edu/edu.svd "$T/edu.svd"
chmod 644 "$T/edu.svd"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "[127.0.0.1]:$PORT $(dropbearkey -y -f "$T/hostkey" | grep ^ssh-)" >"$T/known_hosts"
NSS=$(ls /usr/lib/*/libnss_wrapper.so | head -n1)
run_as=()
if [ "$(id -u)" = 0 ]; then
    chown -R "$uid:$gid" "$T/home" "$T/hostkey"
    run_as=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
fi
env LD_PRELOAD="$NSS" NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" \
    "${run_as[@]}" /usr/sbin/dropbear -F -E -s -p "127.0.0.1:$PORT" -r "$T/hostkey" 2>"$T/log" &
echo $! >"$T/pid"
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

export MMIODRV_SSH="ssh -i $T/id -o UserKnownHostsFile=$T/known_hosts -o IdentitiesOnly=yes"
H=bench@127.0.0.1:$PORT
DEV=sim:$T/edu.svd
CTL=$(mktemp -d /tmp/mmiodrv-bench-ctl.XXXXXX)
SSH=(ssh -i "$T/id" -o UserKnownHostsFile="$T/known_hosts" -o IdentitiesOnly=yes -o BatchMode=yes
    -o ControlMaster=auto -o "ControlPath=$CTL/%C" -o ControlPersist=60 -T -p "$PORT" bench@127.0.0.1)
# Untimed: the far side's copy of this build, and both shared connections up.
"$MMIODRV" --host "$H" --device "$DEV" read ID >/dev/null
"${SSH[@]}" true
FAR=$(ls "$T"/home/.cache/mmiodrv/*/mmiodrv)
for i in $(seq "$N"); do echo "read ID"; done >"$T/reads.mmio"
cat "$T/reads.mmio" "$T/reads.mmio" >"$T/reads2.mmio"
chmod 644 "$T/reads.mmio" "$T/reads2.mmio"

us() { "$OUT/timeit" "$@"; } # total microseconds of RUNS runs
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A R
for round in $(seq "$ROUNDS"); do
    R[ssh_true]+="$(us "$RUNS" "${SSH[@]}" true) "
    R[ssh_mmiodrv]+="$(us "$RUNS" "${SSH[@]}" "$FAR" --device "$DEV" read ID) "
    R[host]+="$(us "$RUNS" "$MMIODRV" --host "$H" --device "$DEV" read ID) "
    R[local]+="$(us "$RUNS" "$MMIODRV" --device "$DEV" read ID) "
    R[batch_local]+="$(us 1 "$MMIODRV" --device "$DEV" batch "$T/reads.mmio") "
    R[batch_host]+="$(us 1 "$MMIODRV" --host "$H" --device "$DEV" batch "$T/reads.mmio") "
    R[pipe_local]+="$(us 1 sh -c "exec \"\$0\" --device \"\$1\" --json batch - <\"\$2\"" "$MMIODRV" "$DEV" "$T/reads.mmio") "
    R[pipe_host]+="$(us 1 sh -c "exec \"\$0\" --host \"\$3\" --device \"\$1\" --json batch - <\"\$2\"" "$MMIODRV" "$DEV" "$T/reads.mmio" "$H") "
    # 2N lines: the difference is what N more reads cost, start-up (ssh's included) cancelled.
    R[batch_local2]+="$(us 1 "$MMIODRV" --device "$DEV" batch "$T/reads2.mmio") "
    R[batch_host2]+="$(us 1 "$MMIODRV" --host "$H" --device "$DEV" batch "$T/reads2.mmio") "
    R[pipe_local2]+="$(us 1 sh -c "exec \"\$0\" --device \"\$1\" --json batch - <\"\$2\"" "$MMIODRV" "$DEV" "$T/reads2.mmio") "
    R[pipe_host2]+="$(us 1 sh -c "exec \"\$0\" --host \"\$3\" --device \"\$1\" --json batch - <\"\$2\"" "$MMIODRV" "$DEV" "$T/reads2.mmio" "$H") "
    echo "round $round done" >&2
done
med() { for v in ${R[$1]}; do echo "$v"; done | median; }
per() { echo "scale=2; $(med "$1") / $RUNS / 1000" | bc; }
echo "one-shot read of ID (sim:), ms per call, median of $ROUNDS rounds of $RUNS:"
printf '  %-44s %7s\n' "ssh true (shared connection)" "$(per ssh_true)"
printf '  %-44s %7s\n' "ssh HOST mmiodrv ... read ID (by hand)" "$(per ssh_mmiodrv)"
printf '  %-44s %7s\n' "mmiodrv --host HOST ... read ID" "$(per host)"
printf '  %-44s %7s\n' "mmiodrv ... read ID (local)" "$(per local)"
echo "  --host over ssh true: $(echo "scale=2; $(med host) / $(med ssh_true)" | bc)x;" \
    "over ssh mmiodrv by hand: $(echo "scale=2; $(med host) / $(med ssh_mmiodrv)" | bc)x"
echo "$N reads of ID, ms (reads/s), median of $ROUNDS rounds:"
for k in batch_local batch_host pipe_local pipe_host; do
    m=$(med "$k")
    printf '  %-44s %7s ms  (%s reads/s)\n' "$k" "$(echo "scale=1; $m / 1000" | bc)" "$(echo "$N * 1000000 / $m" | bc)"
done
echo "  remote/local speed, whole runs: batch $(echo "scale=2; $(med batch_local) / $(med batch_host)" | bc)," \
    "pipe $(echo "scale=2; $(med pipe_local) / $(med pipe_host)" | bc)"
echo "N more reads (2N-line run minus N-line run, start-up cancelled), reads/s:"
for k in batch pipe; do
    l=$(echo "$(med ${k}_local2) - $(med ${k}_local)" | bc) h=$(echo "$(med ${k}_host2) - $(med ${k}_host)" | bc)
    printf '  %-6s local %9s   --host %9s   remote/local %s\n' "$k" "$(echo "$N * 1000000 / $l" | bc)" \
        "$(echo "$N * 1000000 / $h" | bc)" "$(echo "scale=2; $l / $h" | bc)"
done
rm -rf "$CTL"
