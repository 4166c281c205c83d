#!/bin/sh
# Remove mmiodrv's udev rules (both files) and their helper, and put the device
# nodes they gave the mmiodrv group back to root:root 0600. See docs/udev.md.
# Idempotent; POSIX sh.
#
#   udev/uninstall.sh [--remove-group] [--purge] [--no-trigger]
#
#   --remove-group  also delete the mmiodrv group (kept by default: it may have
#                   members or own files)
#   --purge         also delete the device list /etc/mmiodrv/devices (kept by
#                   default: it is the administrator's)
#   --no-trigger    do not re-run udev's other rules on /dev/vfio/N and /dev/uioN
#
# Devices the autobind rule bound stay bound to vfio-pci, and their
# driver_override stays set, until they reappear or you run
# `mmiodrv --device ADDR bind --restore` (or unbind them).
#
# Environment: RULES_DIR (default /etc/udev/rules.d), DESTDIR (staging root:
# only removes the files there).
set -eu

GROUP=mmiodrv
RULES_DIR=${RULES_DIR:-/etc/udev/rules.d}
DESTDIR=${DESTDIR:-}

say() { echo "mmiodrv udev: $*"; }
die() {
    echo "mmiodrv udev: error: $*" >&2
    exit 1
}

remove_group=no trigger=yes purge=no
while [ $# -gt 0 ]; do
    case $1 in
    --remove-group) remove_group=yes ;;
    --purge) purge=yes ;;
    --no-trigger) trigger=no ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option $1 (try --help)" ;;
    esac
    shift
done
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (writes $RULES_DIR)"
fi

for f in "$RULES_DIR/70-mmiodrv.rules" "$RULES_DIR/71-mmiodrv-autobind.rules" \
    /usr/local/libexec/mmiodrv-udev-allowed "${TMPFILES_DIR:-/etc/tmpfiles.d}/mmiodrv.conf"; do
    if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then
        rm -f "$DESTDIR$f"
        say "removed $DESTDIR$f"
    fi
done
if [ "$purge" = yes ]; then
    for f in /etc/mmiodrv/devices; do
        if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then
            rm -f "$DESTDIR$f"
            say "removed $DESTDIR$f"
        fi
    done
    rmdir "$DESTDIR/etc/mmiodrv" 2>/dev/null || true
fi
[ -z "$DESTDIR" ] || exit 0

# udev does not reset a node no rule names, so put ours back to its default by hand
# (only nodes still in our group: another tool may have handed one on, e.g. libvirt).
reset=0
for n in /dev/vfio/* /dev/uio*; do
    if [ ! -L "$n" ] && [ -c "$n" ] && [ "$(stat -c %G "$n")" = "$GROUP" ]; then
        chown root:root "$n"
        chmod 0600 "$n"
        reset=$((reset + 1))
    fi
done
say "reset $reset device node(s) to root:root 0600"

if command -v udevadm >/dev/null 2>&1 && udevadm control --ping >/dev/null 2>&1; then
    udevadm control --reload
    say "udev rules reloaded"
    if [ "$trigger" = yes ]; then
        # Let any other rules that name these nodes apply again.
        udevadm trigger --action=change --subsystem-match=vfio --subsystem-match=uio
        udevadm settle --timeout=30 || say "warning: udevadm settle timed out"
    fi
fi

if [ "$remove_group" = yes ]; then
    if grep -q "^$GROUP:" /etc/group 2>/dev/null; then
        if command -v groupdel >/dev/null 2>&1; then
            groupdel "$GROUP"
        elif command -v delgroup >/dev/null 2>&1; then
            delgroup "$GROUP"
        else
            sed -i "/^$GROUP:/d" /etc/group
        fi
        say "removed group $GROUP"
    fi
fi
