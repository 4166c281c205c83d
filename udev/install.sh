#!/bin/sh
# Install mmiodrv's udev rules: non-root access for the `mmiodrv` group to VFIO
# group nodes and /dev/uioN (70-mmiodrv.rules) and, with --with-autobind, the
# opt-in rule that binds listed devices to vfio-pci (71-mmiodrv-autobind.rules).
# See docs/udev.md. Idempotent; POSIX sh (runs under busybox too). Needs root.
#
#   udev/install.sh [--with-autobind] [--user NAME] [--no-trigger]
#
#   --with-autobind  also install the autobind rule and apply it to present devices
#   --user NAME      add user NAME to the mmiodrv group (takes effect at next login)
#   --no-trigger     do not re-apply the rules to present devices
#
# Environment:
#   RULES_DIR  where rules go (default /etc/udev/rules.d)
#   DESTDIR    staging root for packaging: only copies the rules to
#              $DESTDIR$RULES_DIR; creating the group and reloading udev is then
#              the package's job (groupadd --system mmiodrv; udevadm control --reload)
set -eu

GROUP=mmiodrv
SRC=$(cd "$(dirname "$0")" && pwd)
RULES_DIR=${RULES_DIR:-/etc/udev/rules.d}
DESTDIR=${DESTDIR:-}
MAIN=70-mmiodrv.rules
AUTOBIND=71-mmiodrv-autobind.rules

say() { echo "mmiodrv udev: $*"; }
die() {
    echo "mmiodrv udev: error: $*" >&2
    exit 1
}

autobind=no trigger=yes user=
while [ $# -gt 0 ]; do
    case $1 in
    --with-autobind) autobind=yes ;;
    --no-trigger) trigger=no ;;
    --user)
        [ $# -ge 2 ] || die "--user needs a user name"
        user=$2
        shift
        ;;
    --user=*) user=${1#--user=} ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option $1 (try --help)" ;;
    esac
    shift
done

[ -f "$SRC/$MAIN" ] || die "$SRC/$MAIN not found (run the script from its udev/ folder)"
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (writes $RULES_DIR, creates the $GROUP group)"
fi

# ---------------------------------------------------------------- rules
install_rule() { # FILE: copy into the rules dir, mode 0644, atomically
    mkdir -p "$DESTDIR$RULES_DIR"
    cp "$SRC/$1" "$DESTDIR$RULES_DIR/.$1.tmp"
    chmod 0644 "$DESTDIR$RULES_DIR/.$1.tmp"
    mv -f "$DESTDIR$RULES_DIR/.$1.tmp" "$DESTDIR$RULES_DIR/$1"
    say "installed $DESTDIR$RULES_DIR/$1"
}
install_rule "$MAIN"
[ "$autobind" = yes ] && install_rule "$AUTOBIND"

if [ -n "$DESTDIR" ]; then
    say "staged into $DESTDIR; on the target: groupadd --system $GROUP && udevadm control --reload"
    exit 0
fi

# ---------------------------------------------------------------- group
group_exists() {
    if command -v getent >/dev/null 2>&1; then
        getent group "$1" >/dev/null
    else
        grep -q "^$1:" /etc/group 2>/dev/null
    fi
}

# Minimal systems (busybox without addgroup): edit /etc/group directly, taking the
# highest free system gid below 1000.
add_group_by_hand() {
    gid=999
    while cut -d: -f3 /etc/group | grep -qx "$gid"; do
        gid=$((gid - 1))
        [ "$gid" -gt 100 ] || die "no free system gid for $GROUP"
    done
    echo "$GROUP:x:$gid:" >>/etc/group
}

if group_exists "$GROUP"; then
    say "group $GROUP exists"
else
    if command -v groupadd >/dev/null 2>&1; then
        groupadd --system "$GROUP"
    elif command -v addgroup >/dev/null 2>&1; then
        addgroup --system "$GROUP" >/dev/null 2>&1 || addgroup -S "$GROUP"
    else
        add_group_by_hand
    fi
    say "created group $GROUP"
fi

if [ -n "$user" ]; then
    id "$user" >/dev/null 2>&1 || die "no user $user"
    if id -nG "$user" | tr ' ' '\n' | grep -qx "$GROUP"; then
        say "$user is already in $GROUP"
    else
        if command -v usermod >/dev/null 2>&1; then
            usermod -a -G "$GROUP" "$user"
        elif command -v adduser >/dev/null 2>&1 && adduser "$user" "$GROUP" >/dev/null 2>&1; then
            :
        else
            # /etc/group by hand: append NAME to the member list of our line.
            sed -i "s/^\($GROUP:[^:]*:[^:]*:\)\(.\{1,\}\)\$/\1\2,$user/; s/^\($GROUP:[^:]*:[^:]*:\)\$/\1$user/" /etc/group
        fi
        say "added $user to $GROUP (effective at the user's next login)"
    fi
fi

# ---------------------------------------------------------------- udev
# Running udevd: reload, then re-apply the rules to what is already there.
if command -v udevadm >/dev/null 2>&1 && udevadm control --ping >/dev/null 2>&1; then
    udevadm control --reload
    say "udev rules reloaded"
    if [ "$trigger" = yes ]; then
        udevadm trigger --action=change --subsystem-match=vfio --subsystem-match=uio
        if [ "$autobind" = yes ]; then
            # Only the devices the autobind rule lists.
            sed -n 's/^ATTR{vendor}=="\(0x[0-9a-f]*\)", ATTR{device}=="\(0x[0-9a-f]*\)".*/\1 \2/p' \
                "$SRC/$AUTOBIND" | while read -r vendor device; do
                udevadm trigger --action=add --subsystem-match=pci \
                    --attr-match=vendor="$vendor" --attr-match=device="$device"
            done
        fi
        udevadm settle --timeout=30 || say "warning: udevadm settle timed out"
        say "rules applied to present devices"
    fi
else
    say "udevd is not running: the rules apply once it starts"
fi
