#!/usr/bin/env bash
# Prepares the QEMU lab: host packages, guest kernel and the BASE initramfs.
#
# Idempotent and cached under target/lab/ (override with LAB_CACHE):
#   target/lab/kernel-<version>/   vmlinuz, modules.dep, the few .ko we boot with
#   target/lab/vmlinuz             copy of the kernel the lab boots
#   target/lab/base.cpio.gz        busybox + modules + pciutils + guest init
#   target/lab/base.inputs         hash of what base.cpio.gz was built from
#   target/lab/udev-<version>/     Debian's udev package, unpacked (never installed on the host)
# A repeat run touches no network and rebuilds nothing unless an input changed.
# Every failure is fatal (exit non-zero), which is what CI=true requires.
#
# Pin a kernel with LAB_KERNEL_PKG=linux-image-6.1.0-XX-amd64.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/.." && pwd)
CACHE=${LAB_CACHE:-$REPO/target/lab}
START=$SECONDS

log() { echo "[lab] $* ($((SECONDS - START)) s)" >&2; }
die() {
    echo "[lab] ERROR: $*" >&2
    exit 1
}
trap 'die "prepare.sh failed at line $LINENO (exit $?)"' ERR

# Kernel modules the guest loads, in this order (dependencies come from modules.dep).
# e1000 and virtio_blk drive the lab's "in use" devices: a NIC that is up and a
# swap disk, which mmiodrv must refuse to unbind.
MODULES=(uio uio_pci_generic vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci e1000 virtio_pci virtio_blk)
# Host binaries copied into the guest together with every shared library ldd lists.
# To add a tool append it here; extra data files go in DATA_FILES.
HOST_BINARIES=(/usr/bin/lspci /usr/bin/setpci)
DATA_FILES=(/usr/share/misc/pci.ids)
PACKAGES=(qemu-system-x86 busybox-static cpio pciutils pci.ids gzip)
# systemd-udevd for guests booted with lab.udev=1 (see guest/init): Debian's `udev`
# package is downloaded and unpacked into the cache like the kernel, NOT installed on
# the host (its postinst would start udevd on the host). Only its libraries come from
# host packages. udevadm is systemd-udevd (the latter is a symlink to it).
UDEV_PKG=udev
# Rules Debian's initramfs also ships that matter here (vfio/vfio 0666 among others).
UDEV_RULES=(50-udev-default.rules)

[ "$(id -u)" = 0 ] || die "run as root (installs packages with apt-get)"
mkdir -p "$CACHE"
# Serialize concurrent runs (e.g. lab/run while tests prepare): they share $CACHE.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
    log "waiting for another prepare.sh to finish"
    flock 9
fi

# ---------------------------------------------------------------- packages
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt-get update first)"
    # The lock timeout lets us wait for another apt run instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >&2
    log "packages installed"
else
    log "host packages present"
fi

# ---------------------------------------------------------------- kernel
kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}
KPKG=${LAB_KERNEL_PKG:-}
if [ -z "$KPKG" ]; then
    KPKG=$(kernel_pkg)
    if [ -z "$KPKG" ]; then
        # No apt lists yet (fresh machine): reuse a cached kernel if any, else update.
        cached=$(find "$CACHE" -maxdepth 1 -name 'kernel-*' -type d 2>/dev/null | sort | tail -n1)
        if [ -n "$cached" ] && [ -f "$cached/.complete" ]; then
            KPKG=$(cat "$cached/.package")
        else
            log "apt lists empty, running apt-get update"
            apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
            KPKG=$(kernel_pkg)
        fi
    fi
fi
[ -n "$KPKG" ] || die "could not find the package linux-image-amd64 depends on"
KVER=${KPKG#linux-image-}
KDIR=$CACHE/kernel-$KVER

# The cache keeps only the modules in MODULES: a changed list means unpacking again.
if [ ! -f "$KDIR/.complete" ] || [ "$(cat "$KDIR/.modules" 2>/dev/null)" != "${MODULES[*]}" ]; then
    rm -rf "$KDIR" "$CACHE/dl"
    mkdir -p "$CACHE/dl" "$KDIR"
    log "downloading kernel $KPKG"
    # _apt cannot write into target/; downloading as root is fine for a .deb we only unpack.
    # Failure is detected below by the missing .deb (apt's own message is shown).
    (cd "$CACHE/dl" && apt-get download "$KPKG" 2>&1) | grep -v '^W: Download is performed unsandboxed' >&2 || true
    deb=$(find "$CACHE/dl" -maxdepth 1 -name '*.deb' | head -n1)
    [ -n "$deb" ] || die "apt-get download $KPKG produced no .deb"
    log "unpacking $(basename "$deb")"
    dpkg -x "$deb" "$CACHE/dl/root"
    modroot=$CACHE/dl/root/lib/modules/$KVER
    [ -d "$modroot" ] || die "no lib/modules/$KVER in $deb"
    # The .deb ships no modules.dep (depmod runs at install time), so make one.
    log "running depmod"
    busybox depmod -b "$CACHE/dl/root" "$KVER"
    cp "$CACHE/dl/root/boot/vmlinuz-$KVER" "$KDIR/vmlinuz"
    cp "$modroot/modules.dep" "$KDIR/modules.dep"
    # Keep only the modules we load (the full tree is ~400 MB).
    for m in "${MODULES[@]}"; do
        rel=$(grep -E "(^|/)${m}\.ko(\.xz|\.zst|\.gz)?:" "$KDIR/modules.dep" | cut -d: -f1) ||
            die "module $m not in modules.dep"
        for f in $rel $(grep -E "^${rel}:" "$KDIR/modules.dep" | cut -d: -f2-); do
            mkdir -p "$KDIR/$(dirname "$f")"
            cp "$modroot/$f" "$KDIR/$f"
        done
    done
    echo "$KPKG" >"$KDIR/.package"
    echo "${MODULES[*]}" >"$KDIR/.modules"
    touch "$KDIR/.complete"
    rm -rf "$CACHE/dl"
    for old in "$CACHE"/kernel-*/; do # superseded kernels
        [ "${old%/}" = "$KDIR" ] || rm -rf "$old"
    done
    log "kernel $KVER cached in $KDIR"
else
    log "kernel $KVER cached"
fi
cp -p "$KDIR/vmlinuz" "$CACHE/vmlinuz.tmp" && mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"

# ---------------------------------------------------------------- udev (unpacked, not installed)
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' || true; }
UVER=$(candidate "$UDEV_PKG")
if [ -z "$UVER" ]; then
    cached=$(find "$CACHE" -maxdepth 1 -name 'udev-*' -type d 2>/dev/null | sort | tail -n1)
    if [ -n "$cached" ] && [ -f "$cached/.complete" ]; then
        UVER=${cached##*/udev-}
    else
        log "apt lists have no $UDEV_PKG, running apt-get update"
        apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
        UVER=$(candidate "$UDEV_PKG")
    fi
fi
[ -n "$UVER" ] || die "no installable version of $UDEV_PKG"
UDIR=$CACHE/udev-$UVER
if [ ! -f "$UDIR/.complete" ]; then
    rm -rf "$UDIR" "$CACHE/dl"
    mkdir -p "$CACHE/dl"
    log "downloading $UDEV_PKG $UVER"
    (cd "$CACHE/dl" && apt-get download "$UDEV_PKG=$UVER" 2>&1) | grep -v '^W: Download is performed unsandboxed' >&2 || true
    deb=$(find "$CACHE/dl" -maxdepth 1 -name '*.deb' | head -n1)
    older=$(find "$CACHE" -maxdepth 2 -path "$CACHE/udev-*/.complete" | sort | tail -n1)
    if [ -n "$deb" ]; then
        mkdir -p "$UDIR"
        dpkg -x "$deb" "$UDIR/root"
        [ -x "$UDIR/root/bin/udevadm" ] || die "no bin/udevadm in $deb"
        # Library packages it depends on (udevadm does not link libudev itself).
        dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep '^lib' |
            grep -vx 'libudev1' >"$UDIR/.libpackages" || true
        touch "$UDIR/.complete"
        for old in "$CACHE"/udev-*/; do
            [ "${old%/}" = "$UDIR" ] || rm -rf "$old"
        done
        log "$UDEV_PKG $UVER unpacked in $UDIR"
    elif [ -n "$older" ]; then
        # Offline after an apt update: the older unpacked udev serves as well.
        UDIR=$(dirname "$older")
        log "WARNING: could not download $UDEV_PKG $UVER, using the cached ${UDIR##*/}"
    else
        die "apt-get download $UDEV_PKG=$UVER produced no .deb"
    fi
    rm -rf "$CACHE/dl"
else
    log "$UDEV_PKG $UVER cached"
fi
if ldd "$UDIR/root/bin/udevadm" | grep -q 'not found'; then
    mapfile -t libpkgs <"$UDIR/.libpackages"
    log "installing the libraries udevadm needs: ${libpkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${libpkgs[@]}" >&2
    ! ldd "$UDIR/root/bin/udevadm" | grep 'not found' >&2 || die "udevadm still misses libraries"
fi

# ---------------------------------------------------------------- base initramfs
inputs=$(
    {
        echo "$KPKG"
        sha256sum "$LAB_DIR/prepare.sh" "$LAB_DIR/guest/init"
        dpkg-query -W busybox-static pciutils pci.ids
        echo "$UDIR"
        for b in "${HOST_BINARIES[@]}" "$UDIR/root/bin/udevadm"; do ldd "$b" | sed "s/ (0x.*)//"; done # no ASLR addresses
    } | sha256sum | cut -d' ' -f1
)
if [ -f "$CACHE/base.cpio.gz" ] && [ "$(cat "$CACHE/base.inputs" 2>/dev/null)" = "$inputs" ]; then
    log "base initramfs up to date ($CACHE/base.cpio.gz)"
    exit 0
fi

log "building base initramfs"
STAGE=$CACHE/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,proc,sys,dev,tmp,run,root,etc/lab,var}
# Merged-/usr layout like Debian, so binaries and ldd paths copy over unchanged.
for d in bin sbin lib lib64; do ln -s "usr/$d" "$STAGE/$d"; done

cp /bin/busybox "$STAGE/usr/bin/busybox"
busybox --list-full | while IFS= read -r applet; do
    [ -e "$STAGE/$applet" ] || ln -s /usr/bin/busybox "$STAGE/$applet"
done

# copy_with_libs FILE [GUEST_PATH]: FILE (at GUEST_PATH, default the same path) plus
# its shared libraries (and the loader) at the same paths as on the host.
copy_with_libs() {
    local f=$1 dest=${2:-$1} lib
    install -D -m 0755 "$f" "$STAGE$dest"
    for lib in $(ldd "$f" | grep -o '/[^ ]*'); do
        [ -e "$STAGE$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$STAGE$lib"
    done
}
for b in "${HOST_BINARIES[@]}"; do copy_with_libs "$b"; done
for f in "${DATA_FILES[@]}"; do install -D -m 0644 "$f" "$STAGE$f"; done

# udev: started by guest/init only with lab.udev=1 (Debian's path: /lib/systemd/systemd-udevd).
copy_with_libs "$UDIR/root/bin/udevadm" /usr/bin/udevadm
mkdir -p "$STAGE/usr/lib/systemd" "$STAGE/usr/lib/udev/rules.d" "$STAGE/etc/udev/rules.d"
ln -s /usr/bin/udevadm "$STAGE/usr/lib/systemd/systemd-udevd"
install -m 0644 "$UDIR/root/etc/udev/udev.conf" "$STAGE/etc/udev/udev.conf"
for r in "${UDEV_RULES[@]}"; do install -m 0644 "$UDIR/root/lib/udev/rules.d/$r" "$STAGE/usr/lib/udev/rules.d/$r"; done

# Users: root and `lab` (uid/gid 1000, home /tmp) for tests of non-root use (`su lab -c CMD`).
# The groups the default udev rules name exist so udevd resolves them quietly.
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'lab:x:1000:1000:lab (non-root tests):/tmp:/bin/sh' >"$STAGE/etc/passwd"
{
    echo 'root:x:0:'
    gid=100
    for g in tty disk lp kmem dialout cdrom tape audio video input kvm render sgx; do
        gid=$((gid + 1))
        echo "$g:x:$gid:"
    done
    echo 'lab:x:1000:'
} >"$STAGE/etc/group"

# Modules: resolve the load order on the host so init only needs insmod, and
# keep the kernel's tree layout with a modules.dep of just these modules, so
# that modprobe works in the guest too (mmiodrv's bind loads a missing driver).
mdir=$STAGE/lib/modules/$KVER
mkdir -p "$mdir"
: >"$STAGE/etc/lab/modules"
for m in "${MODULES[@]}"; do
    rel=$(grep -E "(^|/)${m}\.ko(\.xz|\.zst|\.gz)?:" "$KDIR/modules.dep" | cut -d: -f1)
    deps=$(grep -E "^${rel}:" "$KDIR/modules.dep" | cut -d: -f2-)
    # modules.dep lists dependencies nearest-first; load them in reverse.
    # shellcheck disable=SC2086 # deliberate word splitting of the dependency list
    for f in $(echo $deps | tr ' ' '\n' | tac) $rel; do
        grep -qxF "$f" "$STAGE/etc/lab/modules" && continue
        mkdir -p "$mdir/$(dirname "$f")"
        case $f in
        *.xz) unxz -c "$KDIR/$f" >"$mdir/${f%.xz}" ;; # busybox insmod wants plain .ko
        *.zst | *.gz) die "compressed module $f not supported" ;;
        *) cp "$KDIR/$f" "$mdir/$f" ;;
        esac
        echo "$f" >>"$STAGE/etc/lab/modules"
    done
done
# modules.dep of the shipped modules only (their dependencies are all shipped).
grep -F -f <(sed 's/$/:/' "$STAGE/etc/lab/modules") "$KDIR/modules.dep" | sed 's/\.xz//g' >"$mdir/modules.dep"
sed -i 's#\.xz$##' "$STAGE/etc/lab/modules"

install -m 0755 "$LAB_DIR/guest/init" "$STAGE/init"
echo "$KVER" >"$STAGE/etc/lab/kernel"

(cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$CACHE/base.cpio.gz.tmp"
mv "$CACHE/base.cpio.gz.tmp" "$CACHE/base.cpio.gz"
echo "$inputs" >"$CACHE/base.inputs"
rm -rf "$STAGE"
log "base initramfs ready: $CACHE/base.cpio.gz ($(du -h "$CACHE/base.cpio.gz" | cut -f1))"
