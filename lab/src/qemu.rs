//! Per-run scratch files (temp dir, ivshmem backing file, initramfs) and the QEMU command line.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::{NamedTempFile, TempDir};

use crate::cpio::CpioWriter;
use crate::{
    LabConfig, LabError, E1000_HUB, E1000_HUBPORT, E1000_MAC, E1000_PEER_HUBPORT, E1000_PEER_ID, E1000_PEER_MAC,
    HOTPLUG_EDU_ID, HOTPLUG_PORT_ID, NVME_PORT_ID,
};

/// Where the guest finds the caller's binary (first in the guest PATH).
pub const GUEST_MMIODRV: &str = "/usr/local/bin/mmiodrv";

/// How the guest's init behaves (kernel parameter `lab.mode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Command agent on ttyS1 (socket `ctl.sock`), console on ttyS0 -> `console.log`.
    Agent,
    /// Interactive shell on ttyS0 wired to this process's stdio.
    Shell,
}

const DISK_FILE: &str = "disk.img";
const DISK_SIZE: u64 = 1 << 20;
/// Backing image of the NVMe namespace (`LabConfig::more_devices`).
const NVME_FILE: &str = "nvme.img";
const NVME_SIZE: u64 = 1 << 20;

/// Scratch files of one guest. Dropping removes them (shm file, then temp dir).
pub struct RunDir {
    pub shm: Option<NamedTempFile>,
    pub dir: Option<TempDir>,
}

impl RunDir {
    pub fn create(cfg: &LabConfig) -> Result<Self, LabError> {
        let dir = tempfile::Builder::new()
            .prefix("mmiodrv-lab-")
            .tempdir()
            .map_err(|e| LabError::io("creating lab temp dir", e))?;
        // /dev/shm keeps the ivshmem backing in RAM; fall back to the temp dir.
        let shm_parent = Path::new("/dev/shm");
        let shm_parent = if shm_parent.is_dir() { shm_parent } else { dir.path() };
        let shm = tempfile::Builder::new()
            .prefix("mmiodrv-lab-")
            .suffix(".shm")
            .tempfile_in(shm_parent)
            .map_err(|e| LabError::io("creating ivshmem backing file", e))?;
        shm.as_file().set_len(cfg.shm_size).map_err(|e| LabError::io("sizing ivshmem backing file", e))?;
        std::fs::File::create(dir.path().join(DISK_FILE))
            .and_then(|f| f.set_len(DISK_SIZE))
            .map_err(|e| LabError::io("creating the lab disk image", e))?;
        if cfg.more_devices {
            std::fs::File::create(dir.path().join(NVME_FILE))
                .and_then(|f| f.set_len(NVME_SIZE))
                .map_err(|e| LabError::io("creating the lab NVMe image", e))?;
        }
        Ok(RunDir { shm: Some(shm), dir: Some(dir) })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("run dir alive").path()
    }
    pub fn shm_path(&self) -> &Path {
        self.shm.as_ref().expect("shm alive").path()
    }
    pub fn console_log(&self) -> PathBuf {
        self.path().join("console.log")
    }
    pub fn qemu_log(&self) -> PathBuf {
        self.path().join("qemu.log")
    }
    /// Backing file of the virtio disk at 00:08.0 (for swap in the in-use tests).
    pub fn disk(&self) -> PathBuf {
        self.path().join(DISK_FILE)
    }
    /// Backing file of the NVMe namespace at 02:00.0 (`LabConfig::more_devices`).
    pub fn nvme_image(&self) -> PathBuf {
        self.path().join(NVME_FILE)
    }
    pub fn ctl_sock(&self) -> PathBuf {
        self.path().join("ctl.sock")
    }
    /// QEMU's QMP monitor (agent mode only).
    pub fn qmp_sock(&self) -> PathBuf {
        self.path().join("qmp.sock")
    }
    pub fn initrd(&self) -> PathBuf {
        self.path().join("initrd.img")
    }

    /// Writes `initrd.img` = base initramfs [+ python initramfs] + overlay cpio,
    /// each archive starting at a 4-byte aligned offset (zero padding between).
    pub fn write_initrd(&self, cfg: &LabConfig) -> Result<(), LabError> {
        let path = self.initrd();
        let ctx = |what: &str| format!("{what} {}", path.display());
        let mut out = BufWriter::new(File::create(&path).map_err(|e| LabError::io(ctx("creating"), e))?);
        let mut archives = vec![&cfg.base_initramfs];
        if cfg.python {
            archives.push(&cfg.python_initramfs);
        }
        for archive in archives {
            let mut f = File::open(archive).map_err(|e| LabError::io(format!("opening {}", archive.display()), e))?;
            let n = std::io::copy(&mut f, &mut out).map_err(|e| LabError::io(ctx("writing"), e))?;
            // The kernel only looks for the next archive at a 4-byte aligned offset.
            let pad = (4 - (n % 4) as usize) % 4;
            out.write_all(&[0u8; 3][..pad]).map_err(|e| LabError::io(ctx("writing"), e))?;
        }

        let mut files: Vec<(&str, &Path)> = Vec::new();
        if let Some(bin) = &cfg.mmiodrv_binary {
            files.push((GUEST_MMIODRV, bin));
        }
        files.extend(cfg.extra_files.iter().map(|(g, h)| (g.as_str(), h.as_path())));
        let mut w = CpioWriter::new(out);
        for (guest, host) in files {
            let hctx = |e| LabError::io(format!("adding {} as guest {guest}", host.display()), e);
            let mut f = File::open(host).map_err(hctx)?;
            let meta = f.metadata().map_err(hctx)?;
            let perm = if guest == GUEST_MMIODRV { 0o755 } else { meta.permissions().mode() & 0o7777 };
            w.add_file(guest, perm, meta.len(), &mut f).map_err(hctx)?;
        }
        w.finish().map_err(|e| LabError::io(ctx("writing"), e))?;
        Ok(())
    }
}

/// The QEMU command for `mode`. Fixed PCI addresses so documentation can name them:
/// 00:04.0 edu, 00:05.0 ivshmem-plain (BAR2 = the shm file); 00:06.0 is kept free;
/// 00:07.0 an e1000 NIC with no peer (nothing leaves the guest; with
/// `ssh_port`, QEMU's restricted user network with that port forwarded) and 00:08.0 a 1 MiB
/// virtio disk: devices the guest can put in use (interface up, swap), which
/// mmiodrv must then refuse to unbind. Opt-in devices: see [`opt_in_devices`].
pub fn command(cfg: &LabConfig, run: &RunDir, mode: Mode) -> Command {
    let mut c = Command::new(&cfg.qemu);
    // no_timer_check: under TCG on a busy host the kernel's early check that
    // the timer interrupt works through the (remapped) IO-APIC can time out
    // and panic the boot ("timer doesn't work through Interrupt-remapped
    // IO-APIC"); virtual machines routinely skip it.
    let mut cmdline = vec!["console=ttyS0", "panic=-1", "no_timer_check"];
    if cfg.iommu {
        cmdline.push("intel_iommu=on");
    }
    let (serials, mode_arg): (Vec<String>, &str) = match mode {
        Mode::Agent => (
            vec![
                format!("file,id=con,path={}", run.console_log().display()),
                // wait=on: QEMU does not start the guest before we are connected,
                // so the agent's READY line can never be lost.
                format!("socket,id=ctl,path={},server=on,wait=on", run.ctl_sock().display()),
            ],
            "lab.mode=agent",
        ),
        // signal=off: Ctrl-C goes to the guest; mux lets Ctrl-A x quit QEMU.
        Mode::Shell => (vec!["stdio,id=con,mux=on,signal=off".into(), "null,id=ctl".into()], "lab.mode=shell"),
    };
    cmdline.push(mode_arg);
    if cfg.ssh_port.is_some() {
        cmdline.push("lab.ssh=1");
    }
    if mode == Mode::Shell {
        cmdline.push("quiet");
    }
    let mut append = cmdline.join(" ");
    for extra in &cfg.extra_cmdline {
        append.push(' ');
        append.push_str(extra);
    }
    let shm_obj =
        format!("memory-backend-file,id=shm0,mem-path={},size={},share=on", run.shm_path().display(), cfg.shm_size);
    c.args(["-accel", "tcg", "-machine", "q35,kernel-irqchip=split"]);
    c.args(["-m", &format!("{}M", cfg.memory_mib)]);
    c.args(["-nodefaults", "-no-user-config", "-display", "none", "-nic", "none"]);
    c.arg("-no-reboot"); // with panic=-1 a kernel panic ends QEMU instead of hanging
    if cfg.iommu {
        c.args(["-device", "intel-iommu,intremap=on"]);
    }
    c.args(["-device", "edu,addr=04.0"]);
    c.args(["-object", &shm_obj, "-device", "ivshmem-plain,memdev=shm0,addr=05.0"]);
    match (cfg.ssh_port, cfg.e1000_pair) {
        (Some(port), _) => {
            // restrict=on: the guest reaches nothing; only the forwarded port reaches it.
            // (LabConfig::check refuses ssh_port with e1000_pair.)
            let net = format!("user,id=lab-net,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22");
            c.args(["-netdev", &net, "-device", "e1000,addr=07.0,netdev=lab-net"]);
        }
        (None, true) => {
            // Both e1000s on hub 0: the NIC at 07.0 as always, the second at 0e.0.
            c.args(["-netdev", &format!("hubport,id={E1000_HUBPORT},hubid={E1000_HUB}")]);
            c.args(["-device", &format!("e1000,addr=07.0,netdev={E1000_HUBPORT},mac={E1000_MAC}")]);
        }
        (None, false) => {
            c.args(["-device", "e1000,addr=07.0"]);
        }
    }
    let drive = format!("file={},if=none,id=disk0,format=raw", run.disk().display());
    c.args(["-drive", &drive, "-device", "virtio-blk-pci,drive=disk0,addr=08.0"]);
    c.args(opt_in_devices(cfg, run));
    for s in &serials {
        c.args(["-chardev", s]);
    }
    c.args(["-serial", "chardev:con", "-serial", "chardev:ctl"]);
    match mode {
        Mode::Shell => {
            c.args(["-mon", "chardev=con,mode=readline"]);
        }
        Mode::Agent => {
            // wait=off: nobody has to connect; Lab connects on its first QMP command.
            let qmp = format!("socket,id=qmp,path={},server=on,wait=off", run.qmp_sock().display());
            c.args(["-chardev", &qmp, "-mon", "chardev=qmp,mode=control"]);
        }
    }
    c.arg("-kernel").arg(&cfg.kernel);
    c.arg("-initrd").arg(run.initrd());
    c.args(["-append", &append]);
    c.args(&cfg.extra_qemu_args);
    c
}

/// QEMU arguments of the opt-in devices. Root ports come first by slot, so
/// the firmware numbers their buses 1 and 2 whatever else is on:
/// - `pcie_hotplug` (also implied by `more_devices`): `pcie-root-port` at 00:09.0
///   (chassis 1, slot 1) with an `edu` behind it at 01:00.0;
/// - `more_devices`: `pcie-root-port` at 00:0a.0 (chassis 2, slot 2) with an NVMe
///   controller at 02:00.0 in an NVMe subsystem (so the guest's kernel puts its
///   1 MiB namespace behind native multipath, under the subsystem device),
///   `qemu-xhci` at 00:0b.0, `virtio-net-pci` at 00:0c.0 without a netdev (no
///   peer: nothing leaves the guest), `virtio-gpu-pci` at 00:0d.0 (the guest's
///   framebuffer console goes to it);
/// - `e1000_pair`: a second e1000 at 00:0e.0, on hub 0 with the one at 07.0.
pub fn opt_in_devices(cfg: &LabConfig, run: &RunDir) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut dev = |spec: String| a.extend(["-device".to_string(), spec]);
    if cfg.pcie_hotplug || cfg.more_devices {
        dev(format!("pcie-root-port,id={HOTPLUG_PORT_ID},bus=pcie.0,addr=09.0,chassis=1,slot=1"));
        dev(format!("edu,id={HOTPLUG_EDU_ID},bus={HOTPLUG_PORT_ID},addr=00.0"));
    }
    if cfg.more_devices {
        dev(format!("pcie-root-port,id={NVME_PORT_ID},bus=pcie.0,addr=0a.0,chassis=2,slot=2"));
        dev("nvme-subsys,id=lab-nvme-subsys,nqn=lab-nvme-subsys".into());
        dev(format!("nvme,id=lab-nvme,serial=lab-nvme-1,subsys=lab-nvme-subsys,bus={NVME_PORT_ID},addr=00.0"));
        dev("nvme-ns,drive=nvme0,bus=lab-nvme,nsid=1".into());
        dev("qemu-xhci,id=lab-xhci,addr=0b.0".into());
        dev("virtio-net-pci,id=lab-vnet,addr=0c.0".into());
        dev("virtio-gpu-pci,id=lab-gpu,addr=0d.0".into());
        a.push("-drive".into());
        a.push(format!("file={},if=none,id=nvme0,format=raw", run.nvme_image().display()));
    }
    if cfg.e1000_pair {
        a.extend(["-netdev".to_string(), format!("hubport,id={E1000_PEER_HUBPORT},hubid={E1000_HUB}")]);
        let spec = format!("e1000,id={E1000_PEER_ID},addr=0e.0,netdev={E1000_PEER_HUBPORT},mac={E1000_PEER_MAC}");
        a.extend(["-device".to_string(), spec]);
    }
    a
}

/// Last `n` lines of a (console) log file; empty if unreadable.
pub fn tail(path: &Path, n: usize) -> String {
    let Ok(bytes) = fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
