//! The standard capability list and its small capabilities (lspci's
//! ls-caps.c and ls-caps-vendor.c).

use super::cfg::{bits, on, Cfg, Dev};
use super::out::{w, Kind, List, Out};
use super::{ea, ecaps, express, ht, vpd, Block, Options};
use crate::pci::ids::PciIds;

/// STATUS register bit: the function has a capability list.
const STATUS_CAP_LIST: u16 = 0x10;

/// Walk the standard list (then the extended one, when lspci would) of
/// `config`.
pub(crate) fn show_caps(config: &[u8], opt: &Options) -> Vec<Block> {
    let d = Dev { cfg: Cfg::new(config), opt };
    let mut o = Out::default();
    // lspci reads 64 bytes first and shows capabilities only with -v; the
    // CardBus header's list pointer is in its second 64 bytes.
    if opt.verbosity == 0 || !d.cfg.has(0, 64) {
        return o.finish();
    }
    let pointer = match d.cfg.header_type() {
        0 | 1 => 0x34,
        2 if d.cfg.has(64, 64) => 0x14,
        _ => return o.finish(),
    };
    let mut can_have_ext_caps = false;
    let mut port_type = None;
    if d.cfg.w(0x06) & STATUS_CAP_LIST != 0 {
        let mut seen = [false; 256];
        let mut at = usize::from(d.cfg.b(pointer) & !3);
        while at != 0 {
            if !d.cfg.has(at, 4) {
                o.begin(List::Standard, Some(at as u16), Kind::AccessDenied);
                w!(o, "\tCapabilities: <access denied>\n");
                break;
            }
            let id = d.cfg.b(at);
            let next = usize::from(d.cfg.b(at + 1) & !3);
            let cap = u32::from(d.cfg.w(at + 2));
            let looped = std::mem::replace(&mut seen[at & 0xff], true);
            let kind = match (looped, id) {
                (true, _) => Kind::Looped,
                (false, 0xff) => Kind::Broken,
                _ => Kind::Capability { id: u16::from(id), version: None },
            };
            o.begin(List::Standard, Some(at as u16), kind);
            w!(o, "\tCapabilities: [{at:02x}] ");
            match kind {
                Kind::Looped => {
                    w!(o, "<chain looped>\n");
                    break;
                }
                Kind::Broken => {
                    w!(o, "<chain broken>\n");
                    break;
                }
                _ => {}
            }
            match id {
                0x00 => w!(o, "Null\n"),
                0x01 => pm(&mut o, &d, at, cap),
                0x02 => agp(&mut o, &d, at, cap),
                0x03 => vpd::cap_vpd(&mut o, &d),
                0x04 => slot_id(&mut o, cap),
                0x05 => msi(&mut o, &d, at, cap),
                0x06 => w!(o, "CompactPCI hot-swap <?>\n"),
                0x07 => {
                    pcix(&mut o, &d, at);
                    can_have_ext_caps = true;
                }
                0x08 => ht::cap_ht(&mut o, &d, at, cap),
                0x09 => vendor(&mut o, &d, at, cap),
                0x0a => debug_port(&mut o, cap),
                0x0b => w!(o, "CompactPCI central resource control <?>\n"),
                0x0c => w!(o, "Hot-plug capable\n"),
                0x0d => ssvid(&mut o, &d, at),
                0x0e => w!(o, "AGP3 <?>\n"),
                0x0f => w!(o, "Secure device <?>\n"),
                0x10 => {
                    port_type = Some(express::cap_express(&mut o, &d, at, cap));
                    can_have_ext_caps = true;
                }
                0x11 => msix(&mut o, &d, at, cap),
                0x12 => sata(&mut o, &d, at, cap),
                0x13 => af(&mut o, &d, at),
                0x14 => ea::cap_ea(&mut o, &d, at, cap),
                _ => w!(o, "Capability ID {id:#x} [{cap:04x}]\n"),
            }
            at = next;
        }
    }
    if can_have_ext_caps {
        ecaps::show_ext_caps(&mut o, &d, port_type);
    }
    o.finish()
}

fn pm(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    const AUX_CURRENT: [u32; 8] = [0, 55, 100, 160, 220, 270, 320, 375];
    w!(o, "Power Management version {}\n", o.n("Version", cap & 7));
    if d.v() < 2 {
        return;
    }
    o.reg("Flags");
    w!(
        o,
        "\t\tFlags: {} AuxCurrent={}mA PME(D0{},D1{},D2{},D3hot{},D3cold{})\n",
        o.flags(cap, &[("PMEClk", 0x8), ("DSI", 0x20), ("D1", 0x200), ("D2", 0x400)]),
        o.n("AuxCurrent", AUX_CURRENT[((cap & 0x1c0) >> 6) as usize]),
        o.f("PME-D0", cap, 0x800),
        o.f("PME-D1", cap, 0x1000),
        o.f("PME-D2", cap, 0x2000),
        o.f("PME-D3hot", cap, 0x4000),
        o.f("PME-D3cold", cap, 0x8000)
    );
    if !d.cfg.has(at + 4, 4) {
        return;
    }
    let t = u32::from(d.cfg.w(at + 4));
    o.reg("Status");
    w!(
        o,
        "\t\tStatus: D{} NoSoftRst{} PME-Enable{} DSel={} DScale={} PME{}\n",
        o.n("PowerState", t & 3),
        o.f("NoSoftRst", t, 0x8),
        o.f("PME-Enable", t, 0x100),
        o.n("DSel", (t & 0x1e00) >> 9),
        o.n("DScale", (t & 0x6000) >> 13),
        o.f("PME", t, 0x8000)
    );
    let b = u32::from(d.cfg.b(at + 6));
    if b != 0 {
        o.reg("Bridge");
        w!(o, "\t\tBridge: PM{} B3{}\n", o.f("PM", b, 0x80), o.f("B3", !b, 0x40));
    }
}

fn agp_rate(rate: u32, agp3: bool) -> String {
    let rates: Vec<String> =
        (0..=2).filter(|i| rate & (1 << i) != 0).map(|i| format!("x{}", 1 << (i + 2 * u32::from(agp3)))).collect();
    if rates.is_empty() {
        "<none>".to_string()
    } else {
        rates.join(",")
    }
}

fn agp(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    let ver = (cap >> 4) & 0x0f;
    let rev = cap & 0x0f;
    w!(o, "AGP version {:x}.{:x}\n", o.n("Version", ver), o.n("Revision", rev));
    if d.v() < 2 || !d.cfg.has(at + 4, 8) {
        return;
    }
    let t = d.cfg.l(at + 4);
    let agp3 = ver >= 3 && on(t, 0x8);
    let rate = agp_rate(t & 7, agp3);
    o.reg("Status");
    w!(
        o,
        "\t\tStatus: RQ={} Iso{} ArqSz={} Cal={} {} Rate={}\n",
        o.n("RQ", ((t & 0xff00_0000) >> 24) + 1),
        o.f("Iso", t, 0x10000),
        o.n("ArqSz", (t & 0xe000) >> 13),
        o.n("Cal", (t & 0x1c00) >> 10),
        o.flags(
            t,
            &[
                ("SBA", 0x200),
                ("ITACoh", 0x100),
                ("GART64", 0x80),
                ("HTrans", 0x40),
                ("64bit", 0x20),
                ("FW", 0x10),
                ("AGP3", 0x8)
            ]
        ),
        o.s("Rate", &rate)
    );
    let t = d.cfg.l(at + 8);
    let rate = agp_rate(t & 7, agp3);
    o.reg("Command");
    w!(
        o,
        "\t\tCommand: RQ={} ArqSz={} Cal={} {} Rate={}\n",
        o.n("RQ", ((t & 0xff00_0000) >> 24) + 1),
        o.n("ArqSz", (t & 0xe000) >> 13),
        o.n("Cal", (t & 0x1c00) >> 10),
        o.flags(t, &[("SBA", 0x200), ("AGP", 0x100), ("GART64", 0x80), ("64bit", 0x20), ("FW", 0x10)]),
        o.s("Rate", &rate)
    );
}

fn slot_id(o: &mut Out, cap: u32) {
    let esr = cap & 0xff;
    let chassis = cap >> 8;
    w!(
        o,
        "Slot ID: {} slots, First{}, chassis {:02x}\n",
        o.n("Slots", esr & 0x1f),
        o.f("First", esr, 0x20),
        o.n("Chassis", chassis)
    );
}

fn msi(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    w!(
        o,
        "MSI: Enable{} Count={}/{} Maskable{} 64bit{}\n",
        o.f("Enable", cap, 0x1),
        o.n("CountEnabled", 1u32 << ((cap & 0x70) >> 4)),
        o.n("CountCapable", 1u32 << ((cap & 0xe) >> 1)),
        o.f("Maskable", cap, 0x100),
        o.f("64bit", cap, 0x80)
    );
    if d.v() < 2 {
        return;
    }
    let is64 = on(cap, 0x80);
    if !d.cfg.has(at + 4, if is64 { 10 } else { 6 }) {
        return;
    }
    w!(o, "\t\tAddress: ");
    let data = if is64 {
        w!(o, "{:08x}", o.n("AddressHigh", d.cfg.l(at + 8)));
        d.cfg.w(at + 12)
    } else {
        d.cfg.w(at + 8)
    };
    w!(o, "{:08x}  Data: {:04x}\n", o.n("Address", d.cfg.l(at + 4)), o.n("Data", data));
    if on(cap, 0x100) {
        let mask_at = at + if is64 { 16 } else { 12 };
        if !d.cfg.has(mask_at, 8) {
            return;
        }
        w!(
            o,
            "\t\tMasking: {:08x}  Pending: {:08x}\n",
            o.n("Masking", d.cfg.l(mask_at)),
            o.n("Pending", d.cfg.l(mask_at + 4))
        );
    }
}

fn pcix(o: &mut Out, d: &Dev, at: usize) {
    match d.cfg.header_type() {
        0 => pcix_nobridge(o, d, at),
        1 => pcix_bridge(o, d, at),
        // lspci prints nothing, not even the end of the line.
        _ => {}
    }
}

const MAX_OUTSTANDING: [u32; 8] = [1, 2, 3, 4, 8, 12, 16, 32];

fn pcix_nobridge(o: &mut Out, d: &Dev, at: usize) {
    w!(o, "PCI-X non-bridge device\n");
    if d.v() < 2 || !d.cfg.has(at + 4, 4) {
        return;
    }
    let command = u32::from(d.cfg.w(at + 2));
    let status = d.cfg.l(at + 4);
    o.reg("Command");
    w!(
        o,
        "\t\tCommand: DPERE{} ERO{} RBC={} OST={}\n",
        o.f("DPERE", command, 0x1),
        o.f("ERO", command, 0x2),
        o.n("RBC", 1u32 << (9 + ((command & 0xc) >> 2))),
        o.n("OST", MAX_OUTSTANDING[((command & 0x70) >> 4) as usize])
    );
    o.reg("Status");
    w!(
        o,
        "\t\tStatus: Dev={:02x}:{:02x}.{} {} DC={} DMMRBC={} DMOST={} DMCRS={} {}\n",
        o.n("Bus", (status & 0xff00) >> 8),
        o.n("Device", (status & 0xf8) >> 3),
        o.n("Function", status & 7),
        o.flags(status, &[("64bit", 0x10000), ("133MHz", 0x20000), ("SCD", 0x40000), ("USC", 0x80000)]),
        o.s("DC", if on(status, 0x10_0000) { "bridge" } else { "simple" }),
        o.n("DMMRBC", 1u32 << (9 + ((status & 0x60_0000) >> 21))),
        o.n("DMOST", MAX_OUTSTANDING[((status & 0x380_0000) >> 23) as usize]),
        o.n("DMCRS", 1u32 << (3 + ((status & 0x1c00_0000) >> 26))),
        o.flags(status, &[("RSCEM", 0x2000_0000), ("266MHz", 0x4000_0000), ("533MHz", 0x8000_0000)])
    );
}

fn pcix_bridge(o: &mut Out, d: &Dev, at: usize) {
    const SEC_CLOCK_FREQ: [&str; 8] = ["conv", "66MHz", "100MHz", "133MHz", "?4", "?5", "?6", "?7"];
    w!(o, "PCI-X bridge device\n");
    if d.v() < 2 || !d.cfg.has(at + 4, 12) {
        return;
    }
    let sec = u32::from(d.cfg.w(at + 2));
    o.reg("SecondaryStatus");
    w!(
        o,
        "\t\tSecondary Status: {} Freq={}\n",
        o.flags(sec, &[("64bit", 1), ("133MHz", 2), ("SCD", 4), ("USC", 8), ("SCO", 0x10), ("SRD", 0x20)]),
        o.s("Freq", SEC_CLOCK_FREQ[((sec & 0x1c0) >> 6) as usize])
    );
    let status = d.cfg.l(at + 4);
    o.reg("Status");
    w!(
        o,
        "\t\tStatus: Dev={:02x}:{:02x}.{} {}\n",
        o.n("Bus", (status & 0xff00) >> 8),
        o.n("Device", (status & 0xf8) >> 3),
        o.n("Function", status & 7),
        o.flags(
            status,
            &[
                ("64bit", 0x10000),
                ("133MHz", 0x20000),
                ("SCD", 0x40000),
                ("USC", 0x80000),
                ("SCO", 0x10_0000),
                ("SRD", 0x20_0000)
            ]
        )
    );
    for (name, off) in [("Upstream", 8), ("Downstream", 12)] {
        let t = d.cfg.l(at + off);
        o.reg(name);
        w!(
            o,
            "\t\t{name}: Capacity={} CommitmentLimit={}\n",
            o.n("Capacity", t & 0xffff),
            o.n("CommitmentLimit", (t >> 16) & 0xffff)
        );
    }
}

fn msix(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    w!(
        o,
        "MSI-X: Enable{} Count={} Masked{}\n",
        o.f("Enable", cap, 0x8000),
        o.n("Count", (cap & 0x7ff) + 1),
        o.f("Masked", cap, 0x4000)
    );
    if d.v() < 2 || !d.cfg.has(at + 4, 8) {
        return;
    }
    for (reg, label, off) in [("VectorTable", "Vector table", 4), ("PBA", "PBA", 8)] {
        let t = d.cfg.l(at + off);
        o.reg(reg);
        w!(o, "\t\t{label}: BAR={} offset={:08x}\n", o.n("BAR", t & 7), o.n("Offset", t & !7));
    }
}

fn ssvid(o: &mut Out, d: &Dev, at: usize) {
    if !d.cfg.has(at, 8) {
        // lspci prints nothing more, not even the end of the line.
        return;
    }
    let sv = d.cfg.w(at + 4);
    let sd = d.cfg.w(at + 6);
    let empty = PciIds::default();
    let ids = d.opt.ids.unwrap_or(&empty);
    let name = ids.subsystem_text(d.cfg.w(0), d.cfg.w(2), sv, sd, d.opt.numeric);
    o.n("SubsystemVendor", sv);
    o.n("SubsystemDevice", sd);
    w!(o, "Subsystem: {name}\n");
}

fn debug_port(o: &mut Out, cap: u32) {
    w!(o, "Debug port: BAR={} offset={:04x}\n", o.n("BAR", cap >> 13), o.n("Offset", cap & 0x1fff));
}

fn af(o: &mut Out, d: &Dev, at: usize) {
    w!(o, "PCI Advanced Features\n");
    if d.v() < 2 || !d.cfg.has(at + 3, 3) {
        return;
    }
    let cap = d.cfg.b(at + 3);
    o.reg("AFCap");
    w!(o, "\t\tAFCap: TP{} FLR{}\n", o.f("TP", cap, 1), o.f("FLR", cap, 2));
    o.reg("AFCtrl");
    w!(o, "\t\tAFCtrl: FLR{}\n", o.f("FLR", d.cfg.b(at + 4), 1));
    o.reg("AFStatus");
    w!(o, "\t\tAFStatus: TP{}\n", o.f("TP", d.cfg.b(at + 5), 1));
}

fn sata(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    w!(o, "SATA HBA v{}.{}", o.n("Major", bits(cap, 4, 4)), o.n("Minor", bits(cap, 0, 4)));
    if d.v() < 2 || !d.cfg.has(at + 4, 4) {
        w!(o, "\n");
        return;
    }
    let bars = d.cfg.l(at + 4);
    let bar = o.n("BARLocation", bits(bars, 0, 4));
    match bar {
        4..=9 => w!(o, " BAR{} Offset={:08x}\n", bar - 4, o.n("Offset", bits(bars, 4, 20))),
        15 => w!(o, " InCfgSpace\n"),
        _ => w!(o, " BAR??{bar}\n"),
    }
}

fn vendor(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    w!(o, "Vendor Specific Information: ");
    let virtio = d.cfg.w(0) == 0x1af4 && (0x1000..=0x107f).contains(&d.cfg.w(2));
    if !(virtio && virtio_cap(o, d, at, cap)) {
        w!(o, "Len={:02x} <?>\n", o.n("Len", bits(cap, 0, 8)));
    }
}

/// A virtio structure; false when lspci would not decode it.
fn virtio_cap(o: &mut Out, d: &Dev, at: usize, cap: u32) -> bool {
    let length = bits(cap, 0, 8) as usize;
    let cfg_type = bits(cap, 8, 8);
    if length < 16 || !d.cfg.has(at, length) {
        return false;
    }
    let name = match cfg_type {
        1 => "CommonCfg",
        2 => "Notify",
        3 => "ISR",
        4 => "DeviceCfg",
        _ => "<unknown>",
    };
    w!(o, "VirtIO: {}\n", o.s("VirtIO", name));
    if d.v() < 2 {
        return true;
    }
    w!(
        o,
        "\t\tBAR={} offset={:08x} size={:08x}",
        o.n("BAR", d.cfg.b(at + 4)),
        o.n("Offset", d.cfg.l(at + 8)),
        o.n("Size", d.cfg.l(at + 12))
    );
    if cfg_type == 2 && length >= 20 {
        w!(o, " multiplier={:08x}", o.n("Multiplier", d.cfg.l(at + 16)));
    }
    w!(o, "\n");
    true
}
