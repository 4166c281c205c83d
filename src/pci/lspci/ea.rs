//! Enhanced Allocation (lspci's `cap_ea`).

use super::cfg::bits;
use super::cfg::Dev;
use super::out::{w, Out};

fn property(p: u32, secondary: bool) -> Option<&'static str> {
    Some(match p {
        0x00 => "memory space, non-prefetchable",
        0x01 => "memory space, prefetchable",
        0x02 => "I/O space",
        0x03 => "VF memory space, prefetchable",
        0x04 => "VF memory space, non-prefetchable",
        0x05 => "allocation behind bridge, non-prefetchable memory",
        0x06 => "allocation behind bridge, prefetchable memory",
        0x07 => "allocation behind bridge, I/O space",
        0xfd => "memory space resource unavailable for use",
        0xfe => "I/O space resource unavailable for use",
        0xff if secondary => "entry unavailable for use, PrimaryProperties should be used",
        0xff => "entry unavailable for use",
        _ => return None,
    })
}

fn bar_equivalent(bei: u32) -> String {
    match bei {
        0..=5 => format!("BAR {bei}"),
        6 => "resource behind function".to_string(),
        7 => "not indicated".to_string(),
        8 => "expansion ROM".to_string(),
        9..=14 => format!("VF-BAR {}", bei - 9),
        _ => "reserved".to_string(),
    }
}

/// Decode the Enhanced Allocation capability at `at`.
pub(crate) fn cap_ea(o: &mut Out, d: &Dev, at: usize, cap: u32) {
    let mut entry_base = at + 4;
    let entries = bits(cap, 0, 6);
    w!(o, "Enhanced Allocation (EA): NumEntries={}", o.n("NumEntries", entries));
    if d.cfg.header_type() == 1 {
        entry_base += 4;
        if !d.cfg.has(at + 4, 2) {
            w!(o, "\n");
            return;
        }
        w!(o, ", secondary={}, subordinate={}", o.n("Secondary", d.cfg.b(at + 4)), o.n("Subordinate", d.cfg.b(at + 5)));
    }
    w!(o, "\n");
    if d.v() < 2 {
        return;
    }
    for entry in 0..entries {
        if !d.cfg.has(entry_base, 4) {
            return;
        }
        let header = d.cfg.l(entry_base);
        let size = bits(header, 0, 3);
        let bei = bits(header, 4, 4);
        let primary = bits(header, 8, 8);
        let secondary = bits(header, 16, 8);
        if !d.cfg.has(entry_base + 4, size as usize * 4) {
            return;
        }
        o.reg(&format!("Entry{entry}"));
        w!(
            o,
            "\t\tEntry {entry}: Enable{} Writable{} EntrySize={}\n",
            o.f("Enable", header, 0x8000_0000),
            o.f("Writable", header, 0x4000_0000),
            o.n("EntrySize", size)
        );
        o.n("BEI", bei);
        w!(o, "\t\t\t BAR Equivalent Indicator: {}\n", bar_equivalent(bei));
        o.n("PrimaryProperties", primary);
        match property(primary, false) {
            Some(text) => w!(o, "\t\t\t PrimaryProperties: {text}\n"),
            None => w!(o, "\t\t\t PrimaryProperties: [{primary:02x}]\n"),
        }
        o.n("SecondaryProperties", secondary);
        match property(secondary, true) {
            Some(text) => w!(o, "\t\t\t SecondaryProperties: {text}\n"),
            None => w!(o, "\t\t\t SecondaryProperties: [{secondary:02x}]\n"),
        }
        let base = d.cfg.l(entry_base + 4);
        let max_offset = d.cfg.l(entry_base + 8);
        let mut max_offset_high_at = entry_base + 12;
        w!(o, "\t\t\t Base: ");
        let mut base64 = u64::from(base & !3);
        if base & 2 != 0 {
            let high = d.cfg.l(entry_base + 12);
            base64 |= u64::from(high) << 32;
            w!(o, "{high:x}");
            max_offset_high_at += 4;
        }
        w!(o, "{:08x}\n", base & !3);
        o.n("Base", base64);
        w!(o, "\t\t\t MaxOffset: ");
        let mut max64 = u64::from(max_offset | 3);
        if max_offset & 2 != 0 {
            let high = d.cfg.l(max_offset_high_at);
            max64 |= u64::from(high) << 32;
            w!(o, "{high:x}");
        }
        w!(o, "{:08x}\n", max_offset | 3);
        o.n("MaxOffset", max64);
        entry_base += 4 + 4 * size as usize;
    }
}
