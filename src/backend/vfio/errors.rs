//! vfio-ioctls errors turned into ours, with the cause and the fix.

use vfio_ioctls::VfioError;

use crate::error::Error;

pub fn vfio_error(device: &str, group: u32, e: VfioError) -> Error {
    let device = device.to_string();
    match e {
        VfioError::OpenGroup(io, _) if io.raw_os_error() == Some(nix::libc::EBUSY) => Error::Busy {
            device,
            message: format!("VFIO group {group} is already open in another process (a group can be open in one process at a time)"),
            hint: format!("wait for that process to finish (fuser -v /dev/vfio/{group} shows it)"),
        },
        VfioError::OpenGroup(io, _) | VfioError::OpenContainer(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            Error::Permission {
                device,
                path: format!("/dev/vfio/{group}").into(),
                hint: "run as root, or install the udev rules from udev/ and join the mmiodrv group (see README, 'Use without root')".into(),
            }
        }
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
