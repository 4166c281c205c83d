//! `mmiodrv list`: the devices `-s`/`-d` (or `--device`) select, of this
//! machine or of a dump (`-F`), with names as lspci gives them (`-n`,
//! `-nn`), or the bus tree exactly as `lspci -t` draws it (`-tv`: with names).

use mmiodrv::error::Result;
use mmiodrv::pci::filter::Filter;
use mmiodrv::pci::ids::{Numeric, PciIds};
use mmiodrv::pci::listing::{self, Listed};
use mmiodrv::pci::lspci::dump::DumpDevice;
use mmiodrv::pci::lspci::tree::{self, Node};
use mmiodrv::pci::{ConfigSpace, PciAddress};

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::context::{devices, selection, Devices};
use crate::output::print_json;

/// `list --json`: the devices, in address order.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Listing<'a> {
    /// Each device selected.
    pub devices: &'a [Listed],
}

/// A dump's device as `list` shows it (no driver, group or parent: a dump has none).
fn listed(d: &DumpDevice, ids: &PciIds) -> Option<Listed> {
    let c = ConfigSpace::new(d.config.clone());
    let (vendor, device, class) = (c.vendor_id()?, c.device_id()?, c.class_code().unwrap_or(0));
    Some(Listed {
        device: PciAddress {
            domain: u16::try_from(d.domain).ok()?,
            bus: d.bus,
            device: d.device,
            function: d.function,
        },
        ids: format!("{vendor:04x}:{device:04x}"),
        vendor_id: vendor,
        device_id: device,
        class,
        class_name: ids.class_name(class),
        vendor_name: ids.vendor(vendor).map(str::to_string),
        device_name: ids.device(vendor, device).map(str::to_string),
        description: ids.describe(vendor, device),
        kernel_driver: None,
        iommu_group: None,
        mmiodrv_driver: mmiodrv::drivers::for_ids(vendor, device).map(|d| d.name()),
        parent: None,
    })
}

fn dump_selected(filter: &Filter, d: &DumpDevice) -> bool {
    let c = ConfigSpace::new(d.config.clone());
    let slot_ok = filter.slot.is_none_or(|s| {
        s.domain.is_none_or(|x| u32::from(x) == d.domain)
            && s.bus.is_none_or(|x| x == d.bus)
            && s.device.is_none_or(|x| x == d.device)
            && s.function.is_none_or(|x| x == d.function)
    });
    let ids_ok = filter.ids.is_none_or(|f| {
        f.matches(c.vendor_id().unwrap_or(0xffff), c.device_id().unwrap_or(0xffff), c.class_code().unwrap_or(0))
    });
    slot_ok && ids_ok
}

pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let numeric = call.args.count("numeric");
    let ids = PciIds::load();
    let filter = selection(&g)?;
    let devices = devices(&g)?;
    if call.args.flag("tree") && !g.json {
        let names = (g.verbose > 0).then_some((&ids, Numeric::from_count(numeric)));
        for line in tree::draw(&nodes(&devices, &filter)?, !filter.is_empty(), names) {
            outln!("{line}");
        }
        return Ok(());
    }
    let rows = match &devices {
        Devices::Machine(sysfs) => listing::list_filtered(sysfs, &ids, &filter)?,
        Devices::Dump { devices, .. } => {
            let mut rows: Vec<Listed> =
                devices.iter().filter(|d| dump_selected(&filter, d)).filter_map(|d| listed(d, &ids)).collect();
            rows.sort_by_key(|r| r.device);
            rows
        }
    };
    if g.json {
        print_json(call.path, &Listing { devices: &rows });
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

/// Every function of the machine or dump as the tree needs it, in lspci's
/// order, each marked selected or not.
fn nodes(devices: &Devices, filter: &Filter) -> Result<Vec<Node>> {
    let mut nodes: Vec<Node> = Vec::new();
    match devices {
        Devices::Machine(sysfs) => {
            let all = Filter::default().select(sysfs)?;
            let addresses: Vec<PciAddress> = all.iter().map(|d| d.address).collect();
            for dev in &all {
                let mut config = dev.read_config().unwrap_or_default();
                config.truncate(64);
                nodes.push(Node {
                    domain: u32::from(dev.address.domain),
                    bus: dev.address.bus,
                    device: dev.address.device,
                    function: dev.address.function,
                    class: (dev.class_code().unwrap_or(0) >> 8) as u16,
                    vendor: dev.vendor_id().unwrap_or(0xffff),
                    device_id: dev.device_id().unwrap_or(0xffff),
                    config,
                    parent: dev.parent_bridge().and_then(|p| addresses.iter().position(|a| *a == p)),
                    selected: filter.matches(dev),
                });
            }
        }
        Devices::Dump { devices, .. } => {
            let mut sorted: Vec<&DumpDevice> = devices.iter().collect();
            sorted.sort_by_key(|d| d.sort_key());
            for d in sorted {
                let c = ConfigSpace::new(d.config.clone());
                nodes.push(Node {
                    domain: d.domain,
                    bus: d.bus,
                    device: d.device,
                    function: d.function,
                    class: (c.class_code().unwrap_or(0) >> 8) as u16,
                    vendor: c.vendor_id().unwrap_or(0xffff),
                    device_id: c.device_id().unwrap_or(0xffff),
                    config: d.config.iter().copied().take(64).collect(),
                    parent: None,
                    selected: dump_selected(filter, d),
                });
            }
        }
    }
    Ok(nodes)
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
