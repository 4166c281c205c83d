//! `mmiodrv list`: the devices `-s`/`-d` (or `--device`) select, with names
//! as lspci gives them (`-n`, `-nn`), or as a tree of bridges (`--tree`).

use mmiodrv::device::DeviceSpec;
use mmiodrv::error::{Error, Result};
use mmiodrv::pci::filter::{Filter, IdFilter, SlotFilter};
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::listing::{self, Listed};
use mmiodrv::pci::{DeviceSelector, PciAddress, Sysfs};

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::output::print_json;

/// `list --json`: the devices, in address order.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Listing<'a> {
    /// Each device selected.
    pub devices: &'a [Listed],
}

/// `-s`/`-d`, or `--device` (an address or IDs) as the same filter.
fn filter(g: &Global) -> Result<Filter> {
    let mut f = g.filter();
    if let Some(text) = g.device.as_deref() {
        match DeviceSpec::parse(text)? {
            DeviceSpec::Pci(DeviceSelector::Address(a)) => {
                f.slot = Some(SlotFilter {
                    domain: Some(a.domain),
                    bus: Some(a.bus),
                    device: Some(a.device),
                    function: Some(a.function),
                })
            }
            DeviceSpec::Pci(DeviceSelector::Ids { vendor, device }) => {
                f.ids = Some(IdFilter { vendor: Some(vendor), device: Some(device), ..IdFilter::default() })
            }
            _ => return Err(Error::invalid(text, "list shows PCI devices; select them with -s, -d or an address")),
        }
    }
    Ok(f)
}

pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let numeric = call.args.count("numeric");
    let ids = PciIds::load();
    let rows = listing::list_filtered(&Sysfs::from_env(), &ids, &filter(&g)?)?;
    if g.json {
        print_json(call.path, &Listing { devices: &rows });
        return Ok(());
    }
    if call.args.flag("tree") {
        tree(&rows, &ids, numeric);
        return Ok(());
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.device.to_string(),
                class_text(r, &ids, numeric),
                name_text(r, numeric),
                r.kernel_driver.clone().unwrap_or_else(|| "-".into()),
                r.iommu_group.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
                r.mmiodrv_driver.unwrap_or("-").to_string(),
            ]
        })
        .collect();
    let header = ["ADDRESS", "CLASS", "DEVICE", "KERNEL DRIVER", "IOMMU", "MMIODRV"].map(str::to_string);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&table) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&table) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        outln!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}

/// The class as lspci shows it: its name, `-n` its number (`0200`), `-nn`
/// both (`Ethernet controller [0200]`).
fn class_text(r: &Listed, ids: &PciIds, numeric: u8) -> String {
    let code = r.class >> 8;
    match numeric {
        0 => r.class_name.clone(),
        1 => format!("{code:04x}"),
        _ => format!("{} [{code:04x}]", ids.class_name(r.class)),
    }
}

/// Vendor and device as lspci shows them: names, `-n` the IDs, `-nn` both
/// (`Red Hat, Inc. Virtio block device [1af4:1001]`; `Device [1234:11e8]`).
fn name_text(r: &Listed, numeric: u8) -> String {
    match (numeric, &r.vendor_name, &r.device_name) {
        (0, _, _) => r.description.clone(),
        (1, _, _) => r.ids.clone(),
        (_, Some(v), Some(d)) => format!("{v} {d} [{}]", r.ids),
        (_, Some(v), None) => format!("{v} Device [{}]", r.ids),
        _ => format!("Device [{}]", r.ids),
    }
}

/// Devices under the bridges they are behind, as `lspci -t` nests them,
/// one line each with its class and names.
fn tree(rows: &[Listed], ids: &PciIds, numeric: u8) {
    let listed: Vec<PciAddress> = rows.iter().map(|r| r.device).collect();
    // A device whose bridge is not listed (filtered out) starts a tree of its own.
    let roots: Vec<&Listed> = rows.iter().filter(|r| r.parent.is_none_or(|p| !listed.contains(&p))).collect();
    let total = roots.len();
    for (i, r) in roots.into_iter().enumerate() {
        branch(rows, ids, numeric, r, "", i + 1 == total, true);
    }
}

fn branch(rows: &[Listed], ids: &PciIds, numeric: u8, r: &Listed, prefix: &str, last: bool, root: bool) {
    let (lead, next) = match (root, last) {
        (true, _) => ("", String::new()),
        (false, true) => ("`-- ", format!("{prefix}    ")),
        (false, false) => ("|-- ", format!("{prefix}|   ")),
    };
    let driver = r.kernel_driver.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    outln!("{prefix}{lead}{} {}: {}{driver}", r.device, class_text(r, ids, numeric), name_text(r, numeric));
    let children: Vec<&Listed> = rows.iter().filter(|c| c.parent == Some(r.device)).collect();
    let n = children.len();
    for (i, c) in children.into_iter().enumerate() {
        branch(rows, ids, numeric, c, &next, i + 1 == n, false);
    }
}
