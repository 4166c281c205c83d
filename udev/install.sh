#!/bin/sh
# Install mmiodrv's udev rules: the `mmiodrv` group gets the VFIO group nodes and
# /dev/uioN of the devices named in the device list /etc/mmiodrv/devices, and of
# no other (70-mmiodrv.rules, with its helper mmiodrv-udev-allowed); with
# --with-autobind, also the opt-in rule that binds listed devices to vfio-pci
# (71-mmiodrv-autobind.rules). See docs/udev.md. Idempotent; POSIX sh (runs under
# busybox too). Needs root.
#
#   udev/install.sh [--allow DEV]... [--disallow DEV]... [--with-autobind]
#                   [--user NAME] [--no-trigger]
#
#   --allow DEV      name DEV in the device list: a PCI address DDDD:BB:DD.F, or
#                    vendor:device IDs VVVV:DDDD (every device with them); repeatable.
#                    Without any name the group gets nothing.
#   --disallow DEV   remove DEV (as written with --allow) from the list; repeatable
#   --with-autobind  also install the autobind rule and apply it to present devices
#   --user NAME      add user NAME to the mmiodrv group (takes effect at next login)
#   --no-trigger     do not re-apply the rules to present devices
#
# The list can also be edited by hand (one entry per line, # comments), then
# applied with: udevadm trigger --action=change --subsystem-match=vfio --subsystem-match=uio
#
# Environment:
#   RULES_DIR  where rules go (default /etc/udev/rules.d)
#   DESTDIR    staging root for packaging: only copies the rules, the helper and
#              the list to $DESTDIR; creating the group and reloading udev is then
#              the package's job (groupadd --system mmiodrv; udevadm control --reload)
set -eu

GROUP=mmiodrv
SRC=$(cd "$(dirname "$0")" && pwd)
RULES_DIR=${RULES_DIR:-/etc/udev/rules.d}
DESTDIR=${DESTDIR:-}
MAIN=70-mmiodrv.rules
AUTOBIND=71-mmiodrv-autobind.rules
HELPER=mmiodrv-udev-allowed
HELPER_DIR=/usr/local/libexec
LIST_DIR=/etc/mmiodrv
LIST=$LIST_DIR/devices

say() { echo "mmiodrv udev: $*"; }
die() {
    echo "mmiodrv udev: error: $*" >&2
    exit 1
}

# entry DEV: DEV lowercased if it is an address DDDD:BB:DD.F or IDs VVVV:DDDD
# (what the helper accepts), else nothing.
entry() {
    e=$(printf '%s' "$1" | tr 'A-F' 'a-f')
    h='[0-9a-f]'
    # shellcheck disable=SC2254 # $h is a pattern on purpose
    case $e in
    $h$h$h$h:$h$h:[01]$h.[0-7] | $h$h$h$h:$h$h$h$h) echo "$e" ;;
    esac
}

autobind=no trigger=yes user= allow= disallow=
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
    --allow | --disallow)
        [ $# -ge 2 ] || die "$1 needs a PCI address (DDDD:BB:DD.F) or vendor:device IDs (VVVV:DDDD)"
        e=$(entry "$2")
        [ -n "$e" ] || die "$1 '$2': not a PCI address (DDDD:BB:DD.F, e.g. 0000:03:00.0) or vendor:device IDs (VVVV:DDDD, e.g. 1234:11e8)"
        if [ "$1" = --allow ]; then allow="$allow $e"; else disallow="$disallow $e"; fi
        shift
        ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option $1 (try --help)" ;;
    esac
    shift
done

for f in "$MAIN" "$HELPER"; do
    [ -f "$SRC/$f" ] || die "$SRC/$f not found (run the script from its udev/ folder)"
done
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (writes $RULES_DIR and $LIST, creates the $GROUP group)"
fi

# ---------------------------------------------------------------- files
# Every file is written to a temporary file in its own directory, then renamed
# over the old one: a symlink planted there is replaced, never followed.

# dir_ok DIR: DIR is a real directory (not a symlink: the helper refuses a list
# reached through one).
dir_ok() {
    [ ! -L "$1" ] || die "$1 is a symbolic link: refusing to write through it"
    [ -d "$1" ] || die "$1 is not a directory"
}

# put SRC DIR NAME MODE: copy SRC to DIR/NAME with MODE, atomically.
put() {
    mkdir -p "$2"
    tmp=$(mktemp "$2/.$3.XXXXXX") || die "cannot create a file in $2"
    if ! cat "$1" >"$tmp" || ! chmod "$4" "$tmp"; then
        rm -f "$tmp"
        die "cannot write $2/$3"
    fi
    mv -f "$tmp" "$2/$3" || {
        rm -f "$tmp"
        die "cannot rename $tmp to $2/$3"
    }
}

# ---------------------------------------------------------------- rules, helper
put "$SRC/$HELPER" "$DESTDIR$HELPER_DIR" "$HELPER" 0755
say "installed $DESTDIR$HELPER_DIR/$HELPER"
for f in "$MAIN" $([ "$autobind" = yes ] && echo "$AUTOBIND"); do
    put "$SRC/$f" "$DESTDIR$RULES_DIR" "$f" 0644
    say "installed $DESTDIR$RULES_DIR/$f"
done

# ---------------------------------------------------------------- device list
# Entries of a list line: the text before '#', blanks and CRs removed, lowercased
# (one entry per line, as the helper reads it).
norm='{ x = $0; sub(/#.*/, "", x); gsub(/[ \t\r]/, "", x); print tolower(x) }'
list=$DESTDIR$LIST
if [ ! -e "$DESTDIR$LIST_DIR" ] && [ ! -L "$DESTDIR$LIST_DIR" ]; then
    mkdir -p "$DESTDIR$LIST_DIR"
    chmod 0755 "$DESTDIR$LIST_DIR"
fi
dir_ok "$DESTDIR$LIST_DIR"
[ ! -L "$list" ] || die "$list is a symbolic link: refusing to read or write through it (remove it, then run this again)"
[ ! -e "$list" ] || [ -f "$list" ] || die "$list is not a regular file"
# An existing list is read only if the helper would trust it: a list someone
# else could have written is not blessed by rewriting it as root.
check_list() {
    [ -z "$DESTDIR" ] || return 0
    if ! why=$("$HELPER_DIR/$HELPER" --check 2>&1 >/dev/null); then
        die "${why#mmiodrv-udev-allowed: } (fix $list, then run this again)"
    fi
}
[ ! -e "$list" ] || check_list
if [ ! -e "$list" ] || [ -n "$allow$disallow" ]; then
    tmp=$(mktemp "$DESTDIR$LIST_DIR/.devices.XXXXXX") || die "cannot create a file in $DESTDIR$LIST_DIR"
    trap 'rm -f "$tmp"' EXIT
    if [ -f "$list" ]; then
        cat "$list" >"$tmp"
    else
        cat >"$tmp" <<'LIST'
# mmiodrv: the devices whose /dev/vfio/N and /dev/uioN the udev rules give to
# the group mmiodrv (see docs/udev.md). One entry per line, # starts a comment:
#   DDDD:BB:DD.F   a PCI address, e.g. 0000:03:00.0
#   VVVV:DDDD      vendor:device IDs, e.g. 1234:11e8 (every device with them)
# A VFIO group node is granted only when every device of its IOMMU group is named.
# UIO has no IOMMU: naming a device that can do DMA gives its users root's power
# when it is bound to uio_pci_generic.
# Apply changes: udevadm trigger --action=change --subsystem-match=vfio --subsystem-match=uio
LIST
    fi
    for e in $disallow; do
        if awk "$norm" "$tmp" | grep -qxF "$e"; then
            kept=$(mktemp "$DESTDIR$LIST_DIR/.devices.XXXXXX") || die "cannot create a file in $DESTDIR$LIST_DIR"
            awk -v e="$e" '{ x = $0; sub(/#.*/, "", x); gsub(/[ \t\r]/, "", x); if (tolower(x) != e) print }' \
                "$tmp" >"$kept" && mv -f "$kept" "$tmp"
            say "removed $e from $list"
        else
            say "$e is not in $list"
        fi
    done
    for e in $allow; do
        if awk "$norm" "$tmp" | grep -qxF "$e"; then
            say "$e is already in $list"
        else
            echo "$e" >>"$tmp"
            say "added $e to $list"
        fi
    done
    if [ -f "$list" ] && cmp -s "$tmp" "$list"; then
        rm -f "$tmp"
    else
        chmod 0644 "$tmp"
        mv -f "$tmp" "$list"
    fi
    trap - EXIT
fi
named=$(awk "$norm" "$list" | grep -c . || true)
if [ "$named" = 0 ]; then
    say "no device named in $list: the $GROUP group gets no device (name one with --allow ADDR)"
else
    say "$named device entr$([ "$named" = 1 ] && echo y || echo ies) in $list"
fi

# ---------------------------------------------------------------- device locks
# The device locks live in a directory only root and the group can write
# (setgid: lock files belong to the group; sticky: a member cannot remove
# another's). /run is emptied at boot: tmpfiles.d makes it again.
TMPFILES_DIR=${TMPFILES_DIR:-/etc/tmpfiles.d}
LOCK_DIR=/run/lock/mmiodrv
printf 'd %s 3770 root %s -\n' "$LOCK_DIR" "$GROUP" >"${TMPDIR:-/tmp}/mmiodrv-tmpfiles.$$"
put "${TMPDIR:-/tmp}/mmiodrv-tmpfiles.$$" "$DESTDIR$TMPFILES_DIR" mmiodrv.conf 0644
rm -f "${TMPDIR:-/tmp}/mmiodrv-tmpfiles.$$"
say "installed $DESTDIR$TMPFILES_DIR/mmiodrv.conf (the lock directory $LOCK_DIR at boot)"

if [ -n "$DESTDIR" ]; then
    say "staged into $DESTDIR; on the target: groupadd --system $GROUP && udevadm control --reload"
    exit 0
fi
# The helper reads the list as udev will have it do: refused means nothing granted.
check_list

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

if [ -L "$LOCK_DIR" ] || { [ -e "$LOCK_DIR" ] && [ ! -d "$LOCK_DIR" ]; }; then
    die "$LOCK_DIR is not a directory: remove it, then run this again"
fi
mkdir -p "$LOCK_DIR"
chown "root:$GROUP" "$LOCK_DIR"
chmod 3770 "$LOCK_DIR"
say "lock directory $LOCK_DIR: root:$GROUP 3770"

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
        for n in /dev/vfio/[0-9]* /dev/uio[0-9]*; do
            if [ -c "$n" ] && [ "$(stat -c %G "$n")" = "$GROUP" ]; then
                say "granted $n to $GROUP"
            fi
        done
    fi
else
    say "udevd is not running: the rules apply once it starts"
fi
