//! vfio-ioctls errors turned into ours, with the cause and the fix.

use crate::error::BackendError;
use std::path::PathBuf;

use vfio_ioctls::VfioError;

use crate::error::{Error, ErrorKind, Remedy};

use crate::backend::kind::UserspaceDriver;
use crate::pci::PciAddress;

/// Our error for a failed VFIO open of `device` in `group`.
pub fn vfio_error(device: PciAddress, group: u32, e: VfioError) -> Error {
    let kind: ErrorKind = match e {
        VfioError::OpenGroup(io, _) if io.raw_os_error() == Some(nix::libc::EBUSY) => {
            BackendError::GroupBusy { group }.into()
        }
        VfioError::OpenGroup(io, _) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            let node = PathBuf::from(format!("/dev/vfio/{group}"));
            ErrorKind::Permission { remedy: group_permission_remedy(&node), path: node }
        }
        VfioError::OpenContainer(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            ErrorKind::Permission { path: "/dev/vfio/vfio".into(), remedy: Remedy::ChmodVfioContainer }
        }
        e @ VfioError::OpenContainer(_) => BackendError::Vfio {
            what: "cannot open /dev/vfio/vfio",
            source: e,
            remedy: Some(Remedy::LoadModule { module: UserspaceDriver::VfioPci.module().into() }),
        }
        .into(),
        e @ VfioError::OpenGroup(..) => BackendError::Vfio {
            what: "cannot open the IOMMU group",
            source: e,
            remedy: Some(Remedy::Bind { device, driver: UserspaceDriver::VfioPci }),
        }
        .into(),
        e @ VfioError::GroupViable => BackendError::Vfio {
            what: "the IOMMU group is not viable",
            source: e,
            remedy: Some(Remedy::FreeIommuGroup),
        }
        .into(),
        e => BackendError::Vfio { what: "cannot open the device", source: e, remedy: None }.into(),
    };
    Error::on(device, kind)
}

/// Why a group node refused us: it is root-only (no udev rules), or it belongs to
/// a group this process is not in (joined, but not logged in again).
fn group_permission_remedy(node: &std::path::Path) -> Remedy {
    use nix::unistd::{getegid, getgroups, Gid, Group};
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(node) else { return Remedy::RootOrUdev };
    if meta.gid() == 0 {
        return Remedy::InstallUdevRules { node: node.to_path_buf() };
    }
    let gid = Gid::from_raw(meta.gid());
    let member = getegid() == gid || getgroups().is_ok_and(|groups| groups.contains(&gid));
    if member {
        return Remedy::RootOrUdev;
    }
    let group = Group::from_gid(gid).ok().flatten().map(|g| g.name).unwrap_or_else(|| meta.gid().to_string());
    Remedy::JoinGroup { node: node.to_path_buf(), group }
}
