//! vfio-ioctls errors turned into ours, with the cause and the fix.

use vfio_ioctls::VfioError;

use crate::error::Error;

pub fn vfio_error(device: &str, group: u32, e: VfioError) -> Error {
    let device = device.to_string();
    match e {
        VfioError::OpenGroup(io, _) if io.raw_os_error() == Some(nix::libc::EBUSY) => Error::Busy {
            device,
            message: format!(
                "VFIO group {group} is already open in another process (a group can be open in one process at a time)"
            ),
            hint: format!("wait for that process to finish (fuser -v /dev/vfio/{group} shows it)"),
        },
        VfioError::OpenGroup(io, _) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            let node = format!("/dev/vfio/{group}");
            Error::Permission { device, hint: group_permission_hint(&node), path: node.into() }
        }
        VfioError::OpenContainer(io) if io.kind() == std::io::ErrorKind::PermissionDenied => Error::Permission {
            device,
            path: "/dev/vfio/vfio".into(),
            hint:
                "/dev/vfio/vfio should be mode 0666: chmod 0666 /dev/vfio/vfio as root (see README, 'Use without root')"
                    .into(),
        },
        VfioError::OpenContainer(io) => Error::Setup {
            device,
            message: format!("cannot open /dev/vfio/vfio: {io}"),
            hint: "load the VFIO modules (modprobe vfio-pci)".into(),
        },
        VfioError::OpenGroup(io, _) => Error::Setup {
            device,
            message: format!("cannot open /dev/vfio/{group}: {io}"),
            hint: "bind the device to vfio-pci first (mmiodrv --device ADDR bind vfio-pci)".into(),
        },
        VfioError::GroupViable => Error::Setup {
            device,
            message: format!("IOMMU group {group} is not viable"),
            hint: "bind every device of the group to vfio-pci, then retry".into(),
        },
        other => Error::Setup { device, message: format!("VFIO: {other}"), hint: String::new() },
    }
}

/// Why a group node refused us: it is root-only (no udev rules), or it belongs to
/// a group this process is not in (joined, but not logged in again).
fn group_permission_hint(node: &str) -> String {
    use nix::unistd::{getegid, getgroups, Gid, Group};
    use std::os::unix::fs::MetadataExt;
    let generic =
        "run as root, or install the udev rules from udev/ and join the mmiodrv group (see README, 'Use without root')";
    let Ok(meta) = std::fs::metadata(node) else { return generic.into() };
    let gid = Gid::from_raw(meta.gid());
    if meta.gid() == 0 {
        return format!(
            "{node} is root-only: run as root, or install the udev rules (sudo udev/install.sh --user $USER; see README, 'Use without root')"
        );
    }
    let name = Group::from_gid(gid).ok().flatten().map(|g| g.name).unwrap_or_else(|| meta.gid().to_string());
    let member = getegid() == gid || getgroups().is_ok_and(|groups| groups.contains(&gid));
    if member {
        return generic.into();
    }
    format!(
        "{node} belongs to group {name}, which this process is not in: join it (sudo usermod -aG {name} $USER) and log in again, or run `newgrp {name}`"
    )
}
