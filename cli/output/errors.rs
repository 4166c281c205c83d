//! Errors as the command line shows them: one line on stderr (what, on which
//! device, the fix in this program's own options) and a documented exit status.

use mmiodrv::error::{BackendError, PciError};
use mmiodrv::error::{Error, ErrorKind, Remedy};
use mmiodrv::outcome::ErrorReport;

// Exit statuses, documented in docs/commands.md and in `mmiodrv --help`: the
// output model's table (the Python module and JSON error objects report the
// same numbers).
pub use mmiodrv::outcome::{exit_code, exit_status};

/// A remedy in this program's words (`kind`: the error it fixes, if any).
pub fn remedy(r: &Remedy, kind: Option<&ErrorKind>) -> String {
    match r {
        Remedy::Bind { device, driver } => format!("mmiodrv --device {device} bind {driver}"),
        Remedy::BindOrForce { device } => format!(
            "bind it to vfio-pci or uio_pci_generic (mmiodrv --device {device} bind vfio-pci), or pass --force if you know the driver is idle"
        ),
        Remedy::MatchBackend { device, driver } => format!("mmiodrv --device {device} bind {driver}, or --backend auto"),
        Remedy::EnableDecoding { device, space } => {
            let bit = if *space == mmiodrv::pci::space::Space::Memory { "0x2" } else { "0x1" };
            format!("enable it (setpci -s {device} COMMAND={bit}:{bit}) or pass --force to read anyway")
        }
        Remedy::Force => match kind {
            Some(ErrorKind::Backend(BackendError::OwnedByVfio { .. })) => "use --backend vfio (or auto), or pass --force if you are sure".into(),
            _ => "pass --force if you are sure".into(),
        },
        Remedy::ReadAll => "pass --all to read it anyway".into(),
        Remedy::NameOne => "name one by its address".into(),
        Remedy::ListDevices => "mmiodrv list shows the devices".into(),
        Remedy::RootOrUdev => "run as root, or bind the device to vfio-pci and have an administrator name it for the mmiodrv group (sudo udev/install.sh --allow ADDRESS; see docs/udev.md)".into(),
        Remedy::InstallUdevRules { node } => format!(
            "{} is root-only: run as root, or have an administrator name the device for the mmiodrv group (sudo udev/install.sh --allow ADDRESS --user $USER; see docs/udev.md)",
            node.display()
        ),
        Remedy::JoinGroup { node, group } => format!(
            "{} belongs to group {group}, which this process is not in: join it (sudo usermod -aG {group} $USER) and log in again, or run `newgrp {group}`",
            node.display()
        ),
        Remedy::ChmodVfioContainer => {
            "/dev/vfio/vfio should be mode 0666: chmod 0666 /dev/vfio/vfio as root (see docs/udev.md)".into()
        }
        Remedy::LoadModule { module } => format!("load the module {module} (modprobe {module}, or insmod its .ko)"),
        Remedy::WaitForHolder { node: Some(node) } => {
            format!("wait for that process to finish (fuser -v {} shows it)", node.display())
        }
        Remedy::WaitForHolder { node: None } => "wait for that process to finish".into(),
        Remedy::FreeIommuGroup => match kind {
            Some(ErrorKind::Pci(PciError::GroupInUse { .. })) => "VFIO needs the whole group; unbind those first, or pass --force".into(),
            _ => "bind every device of the group to vfio-pci (or unbind them), then retry".into(),
        },
        Remedy::EnableIommu { device } => format!(
            "boot with intel_iommu=on or amd_iommu=on (and the IOMMU enabled in firmware), or use UIO: mmiodrv --device {device} bind uio_pci_generic"
        ),
        Remedy::UseUio { device } => format!("use UIO instead: mmiodrv --device {device} bind uio_pci_generic"),
        Remedy::RaiseMemlock { need_kib, hard } => format!(
            "raise it to at least {need_kib} KiB: `ulimit -l {need_kib}` if the hard limit ({}) allows, else as root: \
             `@mmiodrv - memlock 65536` in /etc/security/limits.d/mmiodrv.conf (next login) or LimitMEMLOCK= \
             for a service (see docs/udev.md)",
            hard.map(|h| format!("{} KiB", h / 1024)).unwrap_or_else(|| "unlimited".into())
        ),
        Remedy::StopUsing => {
            "stop using it first (umount, swapoff, ip link set down), or pass --force if you are sure".into()
        }
        Remedy::WaitForHolders => "wait for that process to finish (or stop it), or pass --force if you are sure".into(),
        Remedy::RetryWhenIdle => "wait for it to finish and retry".into(),
        Remedy::StartServer => {
            "start one: mmiodrv ivshmem-server --socket PATH --shm PATH --size N --vectors V".into()
        }
        Remedy::Smaller => "free memory, or use smaller DMA buffers".into(),
        Remedy::ChooseBlock => "pass --block NAME (mmiodrv regmap show FILE lists them)".into(),
        Remedy::PipInstall { python, package } => format!(
            "{python} -m pip install {package} (or set MMIODRV_PYTHON to a Python that has it, e.g. a venv's bin/python)"
        ),
        Remedy::AllowCopy { host, version } => format!(
            "drop --no-copy to let mmiodrv copy itself to {host} (docs/remote.md), or install mmiodrv {version} there"
        ),
        Remedy::Text(t) => t.clone(),
        other => other.to_string(),
    }
}

/// The one line for `e`; `device` is the --device the user gave, named when
/// the error does not name its own device.
pub fn error_line(e: &Error, device: Option<&str>) -> String {
    // setpci's errors as setpci words them: its usage errors end with a dot
    // and a line on --help.
    if let ErrorKind::Pci(PciError::Setpci { message, usage }) = e.kind() {
        return match usage {
            true => format!("setpci: {message}.\nTry `setpci --help' for more information."),
            false => format!("setpci: {message}"),
        };
    }
    if let ErrorKind::MissingDevice = e.kind() {
        return "mmiodrv: error: this command needs --device DDDD:BB:DD.F, BB:DD.F or VVVV:DDDD (or MMIODRV_DEVICE); fix: mmiodrv list shows the devices".into();
    }
    let mut on = match (device, e.names_device()) {
        (Some(d), false) => format!("{d}: "),
        _ => String::new(),
    };
    // On a remote run's far side, the host it is (the near side's own
    // errors about a host name it themselves).
    if let Some(host) = crate::remote::agent::label() {
        on.insert_str(0, &format!("{host}: "));
    }
    let line = match e.remedy() {
        Some(r) => format!("mmiodrv: error: {on}{e}; fix: {}", remedy(&r, Some(e.kind()))),
        None => format!("mmiodrv: error: {on}{e}"),
    };
    one_line(&line)
}

pub use mmiodrv::text::one_line;

/// An error as one JSON object on stdout (with `--json`, after its line on
/// stderr): `op` `error`, the message, its class and exit status, the
/// device, the fix, where in a script it happened, and the results its line
/// made before it failed (a script's line is one object).
pub fn print_error_json(e: &Error, device: Option<&str>, at: Option<(&str, usize)>, results: Vec<serde_json::Value>) {
    let line = error_line(e, device);
    let message = line.strip_prefix("mmiodrv: error: ").unwrap_or(&line);
    let report = ErrorReport {
        error: message.to_string(),
        class: e.class(),
        exit: exit_status(e),
        device: e.device().map(|d| d.to_string()).or_else(|| device.map(str::to_string)),
        fix: e.remedy().map(|r| remedy(&r, Some(e.kind()))),
        host: crate::remote::agent::label().map(str::to_string).or_else(|| remote_host(e)),
        file: at.map(|(file, _)| file.to_string()),
        line: at.map(|(_, n)| n),
        results,
    };
    super::print_json(mmiodrv::outcome::op::ERROR, &report);
}

/// The remote host an error of the near side concerns.
fn remote_host(e: &Error) -> Option<String> {
    match e.kind() {
        ErrorKind::Remote(e) => Some(e.host().to_string()),
        _ => None,
    }
}

thread_local! {
    static REPORTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The error about to be returned was printed already (with its FILE:LINE):
/// the caller only exits with its status.
pub fn mark_reported() {
    REPORTED.with(|r| r.set(true));
}

/// Whether the error returned was printed already.
pub fn reported() -> bool {
    REPORTED.with(|r| r.get())
}

/// A check found what it looks for (problems, differences): the command
/// printed them and its summary; the exit status says so (10), nothing more
/// is printed.
pub fn findings(summary: String) -> Error {
    mark_reported();
    mmiodrv::ErrorKind::Findings { what: summary }.into()
}
