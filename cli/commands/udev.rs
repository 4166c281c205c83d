//! `mmiodrv udev`: what the udev rules grant the `mmiodrv` group, read from
//! the library's [`mmiodrv::grant`]: the device list, each present device it
//! names with its node, owner:group mode and state, the entries that match
//! nothing, and the stray grants. A stray grant or a refused list is a
//! finding (exit status 10).

use std::path::PathBuf;

use mmiodrv::command::Call;
use mmiodrv::error::Result;
use mmiodrv::grant::{self, Access, NamedDevice, Paths, StrayGrant};
use mmiodrv::pci::{PciAddress, Sysfs};

use crate::cli::Global;
use crate::output::errors::remedy;
use crate::output::print_json;

/// Environment variable for tests: a directory standing for `/` (its
/// `dev/`, `etc/mmiodrv/devices`, `etc/group`, `etc/passwd`), whose files
/// are trusted when owned by the user running mmiodrv rather than root.
pub const UDEV_ROOT_ENV: &str = "MMIODRV_UDEV_ROOT";

/// `udev --json`: the device list and what it grants.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct UdevReport {
    /// The device list.
    pub list: PathBuf,
    /// Whether it exists (a missing list names nothing).
    pub present: bool,
    /// Why the list is refused (the udev rules then grant nothing), if it is.
    pub refused: Option<String>,
    /// What would fix the refusal.
    pub fix: Option<String>,
    /// The gid of group `mmiodrv`, if it exists.
    pub gid: Option<u32>,
    /// Present devices the list names.
    pub devices: Vec<UdevDevice>,
    /// Entries that name no present device.
    pub unmatched: Vec<UdevEntry>,
    /// Nodes the group can use for devices the list does not name.
    pub stray: Vec<UdevStray>,
    /// Stray grants, plus one for a refused list: the exit status is 10 when not 0.
    pub problems: usize,
}

/// One entry of the device list.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct UdevEntry {
    /// 1-based line of the list.
    pub line: usize,
    /// What it names: an address (`0000:00:04.0`) or IDs (`1234:11e8`).
    pub name: String,
}

/// A named device and what the group has of it.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct UdevDevice {
    /// Its address.
    pub device: PciAddress,
    /// `vendor:device`, when readable.
    pub ids: Option<String>,
    /// The entry that names it.
    pub entry: UdevEntry,
    /// The kernel driver bound to it.
    pub driver: Option<String>,
    /// The node it is reached through (`/dev/vfio/3`, `/dev/uio0`), if bound to a userspace driver.
    pub node: Option<PathBuf>,
    /// The node's `owner:group mode` (`root:mmiodrv 0660`), when it exists.
    pub owner: Option<String>,
    /// `granted`, `granted-uio` (granted through UIO: no IOMMU, root-equivalent once
    /// bus mastering is on), `not-applied`, `withheld`, `no-iommu`, `node-missing` or `unbound`.
    pub state: String,
    /// For `withheld`: the members of its IOMMU group the list does not name.
    pub unnamed: Vec<String>,
}

/// A node the group can use although the list does not name every device behind it.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct UdevStray {
    /// The node.
    pub node: PathBuf,
    /// Its `owner:group mode`.
    pub owner: Option<String>,
    /// The devices behind it the list does not name (empty: none found, or a no-IOMMU group).
    pub unnamed: Vec<String>,
}

/// The paths looked at: the system's, or a test's root ([`UDEV_ROOT_ENV`]).
fn paths() -> Paths {
    let sysfs = Sysfs::from_env();
    match std::env::var_os(UDEV_ROOT_ENV).map(PathBuf::from) {
        Some(root) => Paths {
            sysfs,
            dev: root.join("dev"),
            list: root.join(grant::DEVICE_LIST.trim_start_matches('/')),
            group_file: root.join("etc/group"),
            passwd_file: root.join("etc/passwd"),
            trusted_uid: nix::unistd::geteuid().as_raw(),
        },
        None => Paths::system(sysfs),
    }
}

fn state(d: &NamedDevice) -> &'static str {
    match &d.access {
        Access::Granted if d.granted_through_uio() => "granted-uio",
        Access::Granted => "granted",
        Access::NotApplied => "not-applied",
        Access::Withheld { .. } => "withheld",
        Access::NoIommu => "no-iommu",
        Access::NodeMissing => "node-missing",
        Access::Unbound => "unbound",
    }
}

fn device(d: &NamedDevice) -> UdevDevice {
    UdevDevice {
        device: d.address,
        ids: d.ids.map(|(v, i)| format!("{v:04x}:{i:04x}")),
        entry: UdevEntry { line: d.entry.line, name: d.entry.name.to_string() },
        driver: d.driver.clone(),
        node: d.node.as_ref().map(|n| n.path.clone()),
        owner: d.node.as_ref().and_then(|n| n.owner.as_ref()).map(|o| o.to_string()),
        state: state(d).into(),
        unnamed: match &d.access {
            Access::Withheld { unnamed } => unnamed.clone(),
            _ => Vec::new(),
        },
    }
}

fn stray(s: &StrayGrant) -> UdevStray {
    UdevStray {
        node: s.node.path.clone(),
        owner: s.node.owner.as_ref().map(|o| o.to_string()),
        unnamed: s.unnamed.clone(),
    }
}

/// The report, whether or not the list is refused.
fn report(paths: &Paths) -> UdevReport {
    match grant::grants(paths) {
        Ok(g) => {
            let stray: Vec<UdevStray> = g.stray.iter().map(stray).collect();
            UdevReport {
                list: g.list.path.clone(),
                present: g.list.present,
                refused: None,
                fix: None,
                gid: g.gid,
                devices: g.devices.iter().map(device).collect(),
                unmatched: g.unmatched.iter().map(|e| UdevEntry { line: e.line, name: e.name.to_string() }).collect(),
                problems: stray.len(),
                stray,
            }
        }
        Err(e) => {
            let stray: Vec<UdevStray> = grant::stray_grants(paths, None).iter().map(stray).collect();
            UdevReport {
                list: paths.list.clone(),
                present: true,
                refused: Some(mmiodrv::text::one_line(&e.to_string())),
                fix: e.remedy().map(|r| remedy(&r, Some(e.kind()))),
                gid: paths.gid_of(mmiodrv::grant::UDEV_GROUP),
                devices: Vec::new(),
                unmatched: Vec::new(),
                problems: stray.len() + 1,
                stray,
            }
        }
    }
}

fn text(r: &UdevReport) {
    let list = r.list.display();
    let group = mmiodrv::grant::UDEV_GROUP;
    match (&r.refused, r.present) {
        (Some(why), _) => {
            outln!("REFUSED {why}: the udev rules grant group {group} nothing");
            if let Some(fix) = &r.fix {
                outln!("  fix: {fix}");
            }
        }
        (None, false) => outln!("no device list {list}: the udev rules grant group {group} no device"),
        (None, true) => outln!(
            "device list {list}: {} device(s) named and present, {} entry(ies) matching nothing",
            r.devices.len(),
            r.unmatched.len()
        ),
    }
    if r.gid.is_none() {
        outln!("no group {group}: no node can be granted");
    }
    for d in &r.devices {
        let ids = d.ids.as_deref().map(|i| format!(" [{i}]")).unwrap_or_default();
        let node = match (&d.node, &d.owner) {
            (Some(n), Some(o)) => format!("{} {o}", n.display()),
            (Some(n), None) => format!("{} (missing)", n.display()),
            (None, _) => {
                format!("no node ({})", d.driver.as_deref().map_or("no driver".to_string(), |x| x.to_string()))
            }
        };
        let note = match d.state.as_str() {
            "granted-uio" => ": UIO has no IOMMU, once bus mastering is on this is root-equivalent".to_string(),
            "withheld" => {
                format!(": its IOMMU group also holds {}, which the list does not name", d.unnamed.join(", "))
            }
            "not-applied" => format!(": re-apply the rules ({})", grant::RETRIGGER),
            _ => String::new(),
        };
        outln!("{}{ids}  line {} ({})  {node}  {}{note}", d.device, d.entry.line, d.entry.name, d.state);
    }
    for e in &r.unmatched {
        outln!("line {} ({}): matches no present device", e.line, e.name);
    }
    for s in &r.stray {
        let owner = s.owner.as_deref().unwrap_or("?");
        let why = if s.unnamed.is_empty() {
            "no named device behind it".to_string()
        } else {
            format!("the list does not name {}", s.unnamed.join(", "))
        };
        outln!("STRAY {} {owner}: group {group} has it, but {why}", s.node.display());
    }
}

fn summary(problems: usize) -> String {
    match problems {
        0 => "no stray grants".into(),
        1 => "1 problem found".into(),
        n => format!("{n} problems found"),
    }
}

/// The report, one line per device and grant; a stray grant or a refused
/// list makes the exit status 10.
pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let r = report(&paths());
    if g.json {
        print_json(call.path, &r);
    } else {
        text(&r);
        outln!("{}", summary(r.problems));
    }
    match r.problems {
        0 => Ok(()),
        n => Err(crate::output::errors::findings(summary(n))),
    }
}
