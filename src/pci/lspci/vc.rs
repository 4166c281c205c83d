//! Virtual Channel, Root Complex Link and Root Complex Event Collector
//! Endpoint Association (from lspci's ls-ecaps.c).

use super::cfg::bits;
use super::cfg::Dev;
use super::out::{w, Out};

/// lspci's `TABLE`: the entry, or `??N` past the table's end.
fn table(tab: &[&str], x: u32) -> String {
    tab.get(x as usize).map_or_else(|| format!("??{x}"), |s| s.to_string())
}

/// Arbitration flags: the named ones always, the `??N` ones only when set.
fn arbitration(o: &mut Out, names: &[&str], value: u32) -> String {
    let mut s = String::new();
    for (i, name) in names.iter().enumerate() {
        if !name.starts_with('?') || value & (1 << i) != 0 {
            s.push(if i == 0 { '\t' } else { ' ' });
            s.push_str(name);
            s.push(o.f(name, value, 1 << i));
        }
    }
    s
}

/// Decode a Virtual Channel capability (either of its IDs).
pub(crate) fn cap_vc(o: &mut Out, d: &Dev, at: usize) {
    const REF_CLOCKS: [&str; 1] = ["100ns"];
    const ARB_SELECTS: [&str; 8] = ["Fixed", "WRR32", "WRR64", "WRR128", "??4", "??5", "??6", "??7"];
    const VC_ARB_SELECTS: [&str; 8] = ["Fixed", "WRR32", "WRR64", "WRR128", "TWRR128", "WRR256", "??6", "??7"];
    w!(o, "Virtual Channel\n");
    if d.v() < 2 || !d.cfg.has(at + 4, 0x1c - 4) {
        return;
    }
    let cr1 = d.cfg.l(at + 4);
    let cr2 = d.cfg.l(at + 8);
    let ctrl = u32::from(d.cfg.w(at + 12));
    let status = d.cfg.w(at + 14);
    let evc_count = bits(cr1, 0, 3);
    o.reg("Caps");
    w!(
        o,
        "\t\tCaps:\tLPEVC={} RefClk={} PATEntryBits={}\n",
        o.n("LPEVC", bits(cr1, 4, 3)),
        table(&REF_CLOCKS, o.n("RefClk", bits(cr1, 8, 2))),
        o.n("PATEntryBits", 1u32 << bits(cr1, 10, 2))
    );
    o.reg("Arb");
    w!(o, "\t\tArb:{}", arbitration(o, &ARB_SELECTS, cr2));
    let arb_table = bits(cr2, 24, 8);
    o.reg("Ctrl");
    w!(o, "\n\t\tCtrl:\tArbSelect={}\n", table(&ARB_SELECTS, o.n("ArbSelect", bits(ctrl, 1, 3))));
    o.reg("Status");
    w!(o, "\t\tStatus:\tInProgress{}\n", o.f("InProgress", status, 1));
    if arb_table != 0 {
        w!(o, "\t\tPort Arbitration Table [{:x}] <?>\n", at as u32 + 16 * arb_table);
    }
    for i in 0..=evc_count as usize {
        let pos = at + 16 + 12 * i;
        w!(o, "\t\tVC{i}:\t");
        if !d.cfg.has(pos, 12) {
            w!(o, "<unreadable>\n");
            continue;
        }
        let rcap = d.cfg.l(pos);
        let rctrl = d.cfg.l(pos + 4);
        let rstatus = d.cfg.w(pos + 10);
        let pat = bits(rcap, 24, 8);
        o.reg(&format!("VC{i}.Caps"));
        w!(
            o,
            "Caps:\tPATOffset={:02x} MaxTimeSlots={} RejSnoopTrans{}\n",
            o.n("PATOffset", pat),
            o.n("MaxTimeSlots", bits(rcap, 16, 7) + 1),
            o.f("RejSnoopTrans", rcap, 1 << 15)
        );
        o.reg(&format!("VC{i}.Arb"));
        w!(o, "\t\t\tArb:{}", arbitration(o, &VC_ARB_SELECTS, rcap));
        o.reg(&format!("VC{i}.Ctrl"));
        w!(
            o,
            "\n\t\t\tCtrl:\tEnable{} ID={} ArbSelect={} TC/VC={:02x}\n",
            o.f("Enable", rctrl, 1 << 31),
            o.n("ID", bits(rctrl, 24, 3)),
            table(&VC_ARB_SELECTS, o.n("ArbSelect", bits(rctrl, 17, 3))),
            o.n("TC/VC", bits(rctrl, 0, 8))
        );
        o.reg(&format!("VC{i}.Status"));
        w!(
            o,
            "\t\t\tStatus:\tNegoPending{} InProgress{}\n",
            o.f("NegoPending", rstatus, 2),
            o.f("InProgress", rstatus, 1)
        );
        if pat != 0 {
            w!(o, "\t\t\tPort Arbitration Table <?>\n");
        }
    }
}

/// Decode a Root Complex Link Declaration.
pub(crate) fn cap_rclink(o: &mut Out, d: &Dev, at: usize) {
    const ELEMENT_TYPES: [&str; 3] = ["Config", "Egress", "Internal"];
    w!(o, "Root Complex Link\n");
    if d.v() < 2 || !d.cfg.has(at + 4, 12) {
        return;
    }
    let esd = d.cfg.l(at + 4);
    let links = bits(esd, 8, 8) as usize;
    o.reg("Desc");
    w!(
        o,
        "\t\tDesc:\tPortNumber={:02x} ComponentID={:02x} EltType={}\n",
        o.n("PortNumber", bits(esd, 24, 8)),
        o.n("ComponentID", bits(esd, 16, 8)),
        table(&ELEMENT_TYPES, o.n("EltType", bits(esd, 0, 8)))
    );
    for i in 0..links {
        let pos = at + 16 + 16 * i;
        w!(o, "\t\tLink{i}:\t");
        if !d.cfg.has(pos, 16) {
            w!(o, "<unreadable>\n");
            return;
        }
        let desc = d.cfg.l(pos);
        let low = d.cfg.l(pos + 8);
        let high = d.cfg.l(pos + 12);
        o.reg(&format!("Link{i}"));
        w!(
            o,
            "Desc:\tTargetPort={:02x} TargetComponent={:02x} AssocRCRB{} LinkType={} LinkValid{}\n",
            o.n("TargetPort", bits(desc, 24, 8)),
            o.n("TargetComponent", bits(desc, 16, 8)),
            o.f("AssocRCRB", desc, 4),
            o.s("LinkType", if desc & 2 != 0 { "Config" } else { "MemMapped" }),
            o.f("LinkValid", desc, 1)
        );
        o.n("Addr", (u64::from(high) << 32) | u64::from(low));
        if desc & 2 != 0 {
            let n = match low & 7 {
                0 => 8,
                n => n,
            };
            w!(
                o,
                "\t\t\tAddr:\t{:02x}:{:02x}.{}  CfgSpace={high:08x}{low:08x}\n",
                bits(low, 20, n),
                bits(low, 15, 5),
                bits(low, 12, 3)
            );
        } else {
            w!(o, "\t\t\tAddr:\t{high:08x}{low:08x}\n");
        }
    }
}

/// Decode a Root Complex Event Collector Endpoint Association.
pub(crate) fn cap_rcec(o: &mut Out, d: &Dev, at: usize) {
    w!(o, "Root Complex Event Collector Endpoint Association\n");
    if d.v() < 2 || !d.cfg.has(at, 12) {
        return;
    }
    let version = bits(d.cfg.l(at), 16, 4);
    let bitmap = o.n("RCiEPBitmap", d.cfg.l(at + 4));
    w!(o, "\t\tRCiEPBitmap: ");
    if bitmap != 0 {
        w!(o, "RCiEP at Device(s):{}", device_runs(bitmap));
    } else {
        w!(o, "{}", if d.v() > 2 { "00000000 [none]" } else { "[none]" });
    }
    w!(o, "\n");
    if version < 2 {
        return;
    }
    let busn = d.cfg.l(at + 8);
    let last = o.n("LastBusNumber", bits(busn, 16, 8));
    let next = o.n("NextBusNumber", bits(busn, 8, 8));
    if last == 0 && next == 0xff {
        w!(o, "\t\tAssociatedBusNumbers: {}\n", if d.v() > 2 { "ff-00 [none]" } else { "[none]" });
    } else {
        w!(o, "\t\tAssociatedBusNumbers: {next:02x}-{last:02x}\n");
    }
}

/// The devices of an RCiEP bitmap as lspci lists them: ` 0, 2-4, 7` (a run
/// that reaches device 31 is printed without its end, as lspci does).
fn device_runs(bitmap: u32) -> String {
    let mut s = String::new();
    let mut matched = false;
    let mut run = 0;
    let mut prev = 0;
    for dev in 0..32 {
        if bitmap & (1 << dev) != 0 {
            if run == 0 {
                s.push_str(&format!("{} {dev}", if matched { "," } else { "" }));
            }
            run += 1;
            prev = dev;
            matched = true;
        } else {
            if run > 1 {
                s.push_str(&format!("-{prev}"));
            }
            run = 0;
        }
    }
    s
}
