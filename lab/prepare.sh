#!/usr/bin/env bash
# Prepares the QEMU lab: host packages, guest kernel and the BASE initramfs.
#
# Idempotent and cached under target/lab/ (override with LAB_CACHE):
#   target/lab/kernel-<version>/   vmlinuz, modules.dep, the few .ko we boot with
#   target/lab/vmlinuz             copy of the kernel the lab boots
#   target/lab/base.cpio.gz        busybox + modules + pciutils + guest init
#   target/lab/base.inputs         hash of what base.cpio.gz was built from
#   target/lab/udev-<version>/     Debian's udev package, unpacked (never installed on the host)
#   target/lab/python.cpio         the host's python3 for LabConfig::python (guest-python.sh)
# A repeat run touches no network and rebuilds nothing unless an input changed.
# Every failure is fatal (exit non-zero), which is what CI=true requires.
#
# Root is needed only to install missing Debian packages (apt-get update/install);
# with the packages installed it runs as any user who can write the cache.
#
# Environment:
#   LAB_KERNEL_PKG=linux-image-6.1.0-XX-amd64   pin the Debian kernel package
#   LAB_KERNEL=/boot/vmlinuz-X LAB_MODULES_DIR=/lib/modules/X
#                                  use this kernel and module tree instead of a Debian
#                                  package (any distribution; both must be set)
#   LAB_PYTHON=/path/to/python3    the python copied for guests (default: python3 on
#                                  PATH; `none`: no python archive)
set -eEuo pipefail # -E: the ERR trap below fires in functions too

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
# swap disk, which mmiodrv must refuse to unbind. A module the kernel has built in
# (modules.builtin) is skipped.
# nvme and virtio-gpu drive the PCIe guest's NVMe (a namespace behind native
# multipath) and GPU (a framebuffer console), the in-use refusals of issue 23.
MODULES=(uio uio_pci_generic vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci e1000 virtio_pci virtio_blk nvme virtio-gpu)
# Modules that newer kernels no longer have (vfio_virqfd is part of vfio since 6.2).
OPTIONAL_MODULES=(vfio_virqfd)
# Host binaries copied into the guest together with every shared library ldd lists:
# a name is looked up in PATH (and /usr/sbin, /sbin) and goes to the guest's
# /usr/bin, a path is copied to the same path. To add a tool append it here;
# extra data files go in DATA_FILES.
# dropbear: the SSH server of guests booted with lab.ssh=1 (LabConfig::ssh_port),
# which the remote tests (--host) reach through QEMU's forwarded port.
HOST_BINARIES=(lspci setpci flock dropbear)
DATA_FILES=()
# pci.ids for lspci, wherever the distribution keeps it (same path in the guest).
PCI_IDS_PATHS=(/usr/share/misc/pci.ids /usr/share/hwdata/pci.ids /usr/share/pci.ids)
# Debian packages; other distributions: see lab/README.md (checked as commands there).
# dropbear-bin, libnss-wrapper, openssh-client: the remote tests' SSH server
# (in the guest, and unprivileged on the host's loopback) and client.
PACKAGES=(qemu-system-x86 busybox-static cpio pciutils pci.ids gzip xz-utils python3 dropbear-bin libnss-wrapper openssh-client)
# systemd-udevd for guests booted with lab.udev=1 (see guest/init): Debian's `udev`
# package is downloaded and unpacked into the cache like the kernel, NOT installed on
# the host (its postinst would start udevd on the host). Only its libraries come from
# host packages. udevadm is systemd-udevd (the latter is a symlink to it).
UDEV_PKG=udev
# Rules Debian's initramfs also ships that matter here (vfio/vfio 0666 among others).
UDEV_RULES=(50-udev-default.rules)

# need_root WHAT: only installing packages needs root.
need_root() {
    [ "$(id -u)" = 0 ] && return 0
    die "$1 needs root: run \`sudo lab/prepare.sh\` once (later runs need no root)"
}
# apt_update: refresh the package lists (root only).
apt_update() {
    need_root "apt-get update ($1)"
    log "$1, running apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
}
export PATH=$PATH:/usr/sbin:/sbin # busybox, lspci may live there (Fedora, Arch)
DEBIAN=false
command -v dpkg-query >/dev/null && command -v apt-get >/dev/null && DEBIAN=true

mkdir -p "$CACHE" 2>/dev/null || die "cannot create $CACHE (set LAB_CACHE to a writable directory)"
[ -w "$CACHE" ] || die "$CACHE is not writable by $(id -un) (made by root? chown it, or set LAB_CACHE)"
# Serialize concurrent runs (e.g. lab/run while tests prepare): they share $CACHE.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
    log "waiting for another prepare.sh to finish"
    flock 9
fi

# ---------------------------------------------------------------- packages
if $DEBIAN; then
    missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        need_root "installing ${missing[*]}"
        log "installing ${missing[*]} (apt-get update first)"
        # The lock timeout lets us wait for another apt run instead of failing.
        apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
            --no-install-recommends "${missing[@]}" >&2
        log "packages installed"
    else
        log "host packages present"
    fi
else
    missing=()
    for c in "${LAB_QEMU:-qemu-system-x86_64}" busybox cpio lspci setpci gzip ldd; do
        command -v "$c" >/dev/null || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] || die "missing on this host: ${missing[*]}
  Fedora: sudo dnf install qemu-system-x86-core busybox cpio pciutils hwdata gzip xz zstd
  Arch:   sudo pacman -S qemu-system-x86 busybox cpio pciutils hwdata gzip xz zstd"
    log "host tools present (not a Debian host: no packages checked)"
fi
BUSYBOX=$(command -v busybox)
PCI_IDS=
for f in "${PCI_IDS_PATHS[@]}"; do [ -f "$f" ] && PCI_IDS=$f && break; done
[ -n "$PCI_IDS" ] || die "no pci.ids in ${PCI_IDS_PATHS[*]} (Debian: pci.ids, Fedora/Arch: hwdata)"
DATA_FILES+=("$PCI_IDS")
GUEST_BINARIES=() # where each of HOST_BINARIES goes in the guest
for i in "${!HOST_BINARIES[@]}"; do
    b=${HOST_BINARIES[$i]}
    case $b in
    */*) GUEST_BINARIES[i]=$b ;;
    *)
        GUEST_BINARIES[i]=/usr/bin/$b
        HOST_BINARIES[i]=$(command -v "$b") || die "$b not found"
        ;;
    esac
done

# ---------------------------------------------------------------- kernel
# cache_kernel VMLINUZ MODDIR: copies the kernel, modules.dep/.builtin and the
# modules in MODULES (with their dependencies) from MODDIR into $KDIR.
cache_kernel() {
    local vmlinuz=$1 moddir=$2 m rel f
    cp "$vmlinuz" "$KDIR/vmlinuz"
    cp "$moddir/modules.dep" "$KDIR/modules.dep"
    cp "$moddir/modules.builtin" "$KDIR/modules.builtin" 2>/dev/null || : >"$KDIR/modules.builtin"
    : >"$KDIR/.present"
    for m in "${MODULES[@]}"; do
        rel=$(grep -E "(^|/)${m}\.ko(\.xz|\.zst|\.gz)?:" "$KDIR/modules.dep" | cut -d: -f1) || rel=
        if [ -z "$rel" ]; then
            if grep -qE "(^|/)${m}\.ko$" "$KDIR/modules.builtin"; then
                log "module $m is built into the kernel"
            elif [[ " ${OPTIONAL_MODULES[*]} " == *" $m "* ]]; then
                log "module $m not in this kernel (optional, skipped)"
            else
                die "module $m is neither in modules.dep nor built in ($moddir)"
            fi
            continue
        fi
        echo "$m" >>"$KDIR/.present"
        for f in $rel $(grep -E "^${rel}:" "$KDIR/modules.dep" | cut -d: -f2-); do
            mkdir -p "$KDIR/$(dirname "$f")"
            cp "$moddir/$f" "$KDIR/$f"
        done
    done
}

if [ -n "${LAB_KERNEL:-}${LAB_MODULES_DIR:-}" ]; then
    # A kernel of this host (or any other) instead of Debian's package.
    [ -n "${LAB_KERNEL:-}" ] && [ -n "${LAB_MODULES_DIR:-}" ] || die "set both LAB_KERNEL and LAB_MODULES_DIR"
    [ -r "$LAB_KERNEL" ] || die "cannot read $LAB_KERNEL (some distributions make /boot/vmlinuz-* root-only: copy it)"
    [ -f "$LAB_MODULES_DIR/modules.dep" ] || die "no modules.dep in $LAB_MODULES_DIR"
    KVER=$(basename "$(readlink -f "$LAB_MODULES_DIR")")
    KPKG="local $(readlink -f "$LAB_KERNEL") $(stat -c '%s %Y' "$(readlink -f "$LAB_KERNEL")")"
    KDIR=$CACHE/kernel-$KVER
    if [ ! -f "$KDIR/.complete" ] || [ "$(cat "$KDIR/.modules" 2>/dev/null)" != "${MODULES[*]}" ] ||
        [ "$(cat "$KDIR/.package" 2>/dev/null)" != "$KPKG" ]; then
        rm -rf "$KDIR"
        mkdir -p "$KDIR"
        log "caching kernel $KVER from $LAB_KERNEL and $LAB_MODULES_DIR"
        cache_kernel "$LAB_KERNEL" "$LAB_MODULES_DIR"
        echo "$KPKG" >"$KDIR/.package"
        echo "${MODULES[*]}" >"$KDIR/.modules"
        touch "$KDIR/.complete"
        log "kernel $KVER cached in $KDIR"
    else
        log "kernel $KVER (LAB_KERNEL) cached"
    fi
else
    $DEBIAN || die "not a Debian host: set LAB_KERNEL=/boot/vmlinuz-X and LAB_MODULES_DIR=/lib/modules/X (see lab/README.md)"
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
            if [ -n "$cached" ] && [ -f "$cached/.complete" ] && ! grep -q '^local ' "$cached/.package"; then
                KPKG=$(cat "$cached/.package")
            else
                apt_update "apt lists empty"
                KPKG=$(kernel_pkg)
            fi
        fi
    fi
    [ -n "$KPKG" ] || die "could not find the package linux-image-amd64 depends on"
    KVER=${KPKG#linux-image-}
    KDIR=$CACHE/kernel-$KVER

    # The cache keeps only the modules in MODULES: a changed list means unpacking again.
    if [ ! -f "$KDIR/.complete" ] || [ "$(cat "$KDIR/.modules" 2>/dev/null)" != "${MODULES[*]}" ] ||
        [ "$(cat "$KDIR/.package" 2>/dev/null)" != "$KPKG" ] || [ ! -f "$KDIR/.present" ]; then
        rm -rf "$KDIR" "$CACHE/dl"
        mkdir -p "$CACHE/dl" "$KDIR"
        log "downloading kernel $KPKG"
        # apt-get download and dpkg -x need no root. As root, _apt cannot write into
        # target/ and apt warns that it downloads unsandboxed: fine for a .deb we only unpack.
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
        # Keep only the modules we load (the full tree is ~400 MB).
        cache_kernel "$CACHE/dl/root/boot/vmlinuz-$KVER" "$modroot"
        echo "$KPKG" >"$KDIR/.package"
        echo "${MODULES[*]}" >"$KDIR/.modules"
        touch "$KDIR/.complete"
        rm -rf "$CACHE/dl"
        log "kernel $KVER cached in $KDIR"
    else
        log "kernel $KVER cached"
    fi
fi
for old in "$CACHE"/kernel-*/; do # superseded kernels
    [ "${old%/}" = "$KDIR" ] || rm -rf "$old"
done
cp -p "$KDIR/vmlinuz" "$CACHE/vmlinuz.tmp" && mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"

# ---------------------------------------------------------------- udev (unpacked, not installed)
# Not Debian: the host's own udevadm (systemd-udevd is the same program) and rules.
UDEVADM= UDEV_CONF= UDEV_RULES_DIR=
if ! $DEBIAN; then
    UDEVADM=$(command -v udevadm || true)
    UDEV_CONF=/etc/udev/udev.conf UDEV_RULES_DIR=/usr/lib/udev/rules.d
    [ -n "$UDEVADM" ] || log "WARNING: no udevadm on this host: guests booted with lab.udev=1 get no udevd"
fi
UDIR=
if $DEBIAN; then
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' || true; }
UVER=$(candidate "$UDEV_PKG")
if [ -z "$UVER" ]; then
    cached=$(find "$CACHE" -maxdepth 1 -name 'udev-*' -type d 2>/dev/null | sort | tail -n1)
    if [ -n "$cached" ] && [ -f "$cached/.complete" ]; then
        UVER=${cached##*/udev-}
    else
        apt_update "apt lists have no $UDEV_PKG"
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
    need_root "installing ${libpkgs[*]} (libraries of udevadm)"
    log "installing the libraries udevadm needs: ${libpkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${libpkgs[@]}" >&2
    ! ldd "$UDIR/root/bin/udevadm" | grep 'not found' >&2 || die "udevadm still misses libraries"
fi
UDEVADM=$UDIR/root/bin/udevadm UDEV_CONF=$UDIR/root/etc/udev/udev.conf UDEV_RULES_DIR=$UDIR/root/lib/udev/rules.d
fi

# ---------------------------------------------------------------- base initramfs
build_base() {
    log "building base initramfs"
    STAGE=$CACHE/stage
    rm -rf "$STAGE"
    mkdir -p "$STAGE"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,proc,sys,dev,tmp,run,root,etc/lab,var}
    # Merged-/usr layout like Debian, so binaries and ldd paths copy over unchanged.
    for d in bin sbin lib lib64; do ln -s "usr/$d" "$STAGE/$d"; done


    # copy_with_libs FILE [GUEST_PATH]: FILE (at GUEST_PATH, default the same path) plus
    # its shared libraries (and the loader) at the same paths as on the host.
    copy_with_libs() {
        local f=$1 dest=${2:-$1} lib
        install -D -m 0755 "$f" "$STAGE$dest"
        for lib in $({ ldd "$f" 2>/dev/null || true; } | grep -o '/[^ ]*' || true); do
            [ -e "$STAGE$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$STAGE$lib"
        done
    }
    copy_with_libs "$BUSYBOX" /usr/bin/busybox # static on Debian; libraries come along if not
    busybox --list-full | while IFS= read -r applet; do
        [ -e "$STAGE/$applet" ] || ln -s /usr/bin/busybox "$STAGE/$applet"
    done
    for i in "${!HOST_BINARIES[@]}"; do copy_with_libs "${HOST_BINARIES[$i]}" "${GUEST_BINARIES[$i]}"; done
    for f in "${DATA_FILES[@]}"; do install -D -m 0644 "$f" "$STAGE$f"; done

    # udev: started by guest/init only with lab.udev=1 (Debian's path: /lib/systemd/systemd-udevd).
    if [ -n "$UDEVADM" ]; then
        copy_with_libs "$UDEVADM" /usr/bin/udevadm
        mkdir -p "$STAGE/usr/lib/systemd" "$STAGE/usr/lib/udev/rules.d" "$STAGE/etc/udev/rules.d"
        ln -s /usr/bin/udevadm "$STAGE/usr/lib/systemd/systemd-udevd"
        [ ! -f "$UDEV_CONF" ] || install -m 0644 "$UDEV_CONF" "$STAGE/etc/udev/udev.conf"
        for r in "${UDEV_RULES[@]}"; do install -m 0644 "$UDEV_RULES_DIR/$r" "$STAGE/usr/lib/udev/rules.d/$r"; done
    fi

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
    while read -r m; do
        rel=$(grep -E "(^|/)${m}\.ko(\.xz|\.zst|\.gz)?:" "$KDIR/modules.dep" | cut -d: -f1)
        deps=$(grep -E "^${rel}:" "$KDIR/modules.dep" | cut -d: -f2-)
        # modules.dep lists dependencies nearest-first; load them in reverse.
        # shellcheck disable=SC2086 # deliberate word splitting of the dependency list
        for f in $(echo $deps | tr ' ' '\n' | tac) $rel; do
            grep -qxF "$f" "$STAGE/etc/lab/modules" && continue
            mkdir -p "$mdir/$(dirname "$f")"
            case $f in # busybox insmod wants plain .ko
            *.xz) xz -dc "$KDIR/$f" >"$mdir/${f%.xz}" ;;
            *.zst) zstd -qdc "$KDIR/$f" >"$mdir/${f%.zst}" || die "zstd needed for $f" ;;
            *.gz) gzip -dc "$KDIR/$f" >"$mdir/${f%.gz}" ;;
            *) cp "$KDIR/$f" "$mdir/$f" ;;
            esac
            echo "$f" >>"$STAGE/etc/lab/modules"
        done
    done <"$KDIR/.present"
    # modules.dep of the shipped modules only (their dependencies are all shipped).
    grep -F -f <(sed 's/$/:/' "$STAGE/etc/lab/modules") "$KDIR/modules.dep" |
        sed -E 's/\.ko\.(xz|zst|gz)/.ko/g' >"$mdir/modules.dep"
    cp "$KDIR/modules.builtin" "$mdir/modules.builtin" # modprobe of a built-in module succeeds
    sed -i -E 's#\.ko\.(xz|zst|gz)$#.ko#' "$STAGE/etc/lab/modules"

    install -m 0755 "$LAB_DIR/guest/init" "$STAGE/init"
    echo "$KVER" >"$STAGE/etc/lab/kernel"

    (cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$CACHE/base.cpio.gz.tmp"
    mv "$CACHE/base.cpio.gz.tmp" "$CACHE/base.cpio.gz"
    echo "$inputs" >"$CACHE/base.inputs"
    rm -rf "$STAGE"
    log "base initramfs ready: $CACHE/base.cpio.gz ($(du -h "$CACHE/base.cpio.gz" | cut -f1))"
}

inputs=$(
    {
        echo "$KPKG"
        sha256sum "$LAB_DIR/prepare.sh" "$LAB_DIR/guest/init"
        sha256sum "$BUSYBOX" "${HOST_BINARIES[@]}" "${DATA_FILES[@]}" ${UDEVADM:+"$UDEVADM"}
        cat "$KDIR/.present"
        echo "$UDIR"
        # no ASLR addresses; a static busybox has no libraries
        for b in "$BUSYBOX" "${HOST_BINARIES[@]}" ${UDEVADM:+"$UDEVADM"}; do { ldd "$b" 2>&1 || true; } | sed "s/ (0x.*)//"; done
    } | sha256sum | cut -d' ' -f1
)
if [ -f "$CACHE/base.cpio.gz" ] && [ "$(cat "$CACHE/base.inputs" 2>/dev/null)" = "$inputs" ]; then
    log "base initramfs up to date ($CACHE/base.cpio.gz)"
else
    build_base
fi

# ---------------------------------------------------------------- python (opt-in per guest)
if [ "${LAB_PYTHON:-}" = none ]; then
    rm -f "$CACHE/python.cpio" "$CACHE/python.inputs"
    log "LAB_PYTHON=none: no guest python"
else
    "$LAB_DIR/guest-python.sh" "$CACHE"
fi
log "lab ready in $CACHE"
exit 0
