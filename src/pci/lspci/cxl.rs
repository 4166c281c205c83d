//! Designated Vendor-Specific capabilities, and CXL's as pciutils 3.9.0
//! decodes them (lspci's `cap_dvsec` and `dvsec_cxl_*`).

use super::cfg::bits;
use super::cfg::Dev;
use super::out::{w, Out};

/// DVSEC vendor ID of the CXL consortium.
const CXL_VENDOR: u32 = 0x1e98;

/// Decode a DVSEC capability.
pub(crate) fn cap_dvsec(o: &mut Out, d: &Dev, at: usize) {
    w!(o, "Designated Vendor-Specific: ");
    if !d.cfg.has(at + 4, 8) {
        w!(o, "<unreadable>\n");
        return;
    }
    let header = d.cfg.l(at + 4);
    let vendor = bits(header, 0, 16);
    let rev = bits(header, 16, 4);
    let len = bits(header, 20, 12) as usize;
    let id = d.cfg.w(at + 8);
    w!(
        o,
        "Vendor={:04x} ID={:04x} Rev={} Len={}",
        o.n("Vendor", vendor),
        o.n("ID", id),
        o.n("Rev", rev),
        o.n("Len", len as u64)
    );
    if vendor == CXL_VENDOR && len >= 16 {
        cxl(o, d, id, rev, at, len);
    } else {
        w!(o, " <?>\n");
    }
}

fn cxl(o: &mut Out, d: &Dev, id: u16, rev: u32, at: usize, len: usize) {
    w!(o, ": CXL\n");
    if d.v() < 2 || !d.cfg.has(at, len) {
        return;
    }
    match id {
        0 => device(o, d, rev, at, len),
        2 => function_map(o, d, at),
        3 => port(o, d, at, len),
        4 => gpf_port(o, d, at),
        5 => gpf_device(o, d, at),
        7 => flex_bus(o, d, at, rev),
        8 => register_locator(o, d, at, len),
        9 => mld(o, d, at),
        _ => w!(o, "\t\tUnknown ID {id:04x}\n"),
    }
}

fn range(o: &mut Out, n: u32, base: u64, size: u64) {
    const TYPES: [&str; 3] = ["Volatile", "Non-volatile", "CDAT"];
    const CLASSES: [&str; 3] = ["DRAM", "Storage", "CDAT"];
    const INTERLEAVE: [u32; 8] = [0, 256, 4096, 512, 1024, 2048, 8192, 16384];
    let low = size as u16;
    let size = size & !0x0fff_ffff;
    o.reg(&format!("Range{n}"));
    w!(o, "\t\tRange{n}: {:016x}-{:016x}\n", o.n("Base", base), base.wrapping_add(size).wrapping_sub(1));
    o.n("Size", size);
    // lspci indexes its tables without a bound; past their ends it prints
    // whatever memory follows, here "<?>" (or 0).
    let kind = TYPES.get(usize::from((low >> 2) & 7)).copied().unwrap_or("<?>");
    let class = CLASSES.get(usize::from((low >> 5) & 7)).copied().unwrap_or("<?>");
    let interleave = INTERLEAVE.get(usize::from((low >> 8) & 0x1f)).copied().unwrap_or(0);
    w!(
        o,
        "\t\t\tValid{} Active{} Type={} Class={} interleave={} timeout={}s\n",
        o.f("Valid", low, 1),
        o.f("Active", low, 2),
        o.s("Type", kind),
        o.s("Class", class),
        o.n("Interleave", interleave),
        o.n("Timeout", 1u32 << (((low >> 13) & 7) * 2))
    );
}

fn device(o: &mut Out, d: &Dev, rev: u32, at: usize, len: usize) {
    // Legacy 1.1 revisions are not decoded.
    if len < 0x38 || rev < 1 {
        return;
    }
    let cap = d.cfg.w(at + 0xa);
    o.reg("CXLCap");
    w!(
        o,
        "\t\tCXLCap:\tCache{} IO{} Mem{} Mem HW Init{} HDMCount {} Viral{}\n",
        o.f("Cache", cap, 1),
        o.f("IO", cap, 2),
        o.f("Mem", cap, 4),
        o.f("MemHWInit", cap, 8),
        o.n("HDMCount", (cap >> 4) & 3),
        o.f("Viral", cap, 0x4000)
    );
    let ctl = d.cfg.w(at + 0xc);
    o.reg("CXLCtl");
    w!(
        o,
        "\t\tCXLCtl:\tCache{} IO{} Mem{} Cache SF Cov {} Cache SF Gran {} Cache Clean{} Viral{}\n",
        o.f("Cache", ctl, 1),
        o.f("IO", ctl, 2),
        o.f("Mem", ctl, 4),
        o.n("CacheSFCov", (ctl >> 3) & 0x1f),
        o.n("CacheSFGran", (ctl >> 8) & 7),
        o.f("CacheClean", ctl, 0x800),
        o.f("Viral", ctl, 0x4000)
    );
    o.reg("CXLSta");
    w!(o, "\t\tCXLSta:\tViral{}\n", o.f("Viral", d.cfg.w(at + 0xe), 0x4000));
    let sta2 = d.cfg.w(at + 0x12);
    o.reg("CXLSta2");
    w!(o, "\t\tCXLSta2:\t{}\n", o.flags(sta2, &[("ResetComplete", 2), ("ResetError", 4), ("PMComplete", 0x8000)]));
    let cap2 = u32::from(d.cfg.w(at + 0x16));
    let unit = bits(cap2, 0, 4);
    let size = bits(cap2, 8, 8);
    o.reg("CXLCap2");
    o.n("CacheUnitSize", unit);
    o.n("CacheSize", size);
    match unit {
        2 => w!(o, "\t\tCache Size: {:08x}\n", size.wrapping_mul(1 << 20)),
        1 => w!(o, "\t\tCache Size: {:08x}\n", size.wrapping_mul(64 << 10)),
        0 => w!(o, "\t\tCache Size Not Reported\n"),
        _ => w!(o, "\t\tCache Size: {size} of unknown unit size ({unit})\n"),
    }
    let q = |hi: usize, lo: usize| (u64::from(d.cfg.l(at + hi)) << 32) | u64::from(d.cfg.l(at + lo));
    range(o, 1, q(0x20, 0x24), q(0x18, 0x1c));
    range(o, 2, q(0x30, 0x34), q(0x28, 0x2c));
}

fn port(o: &mut Out, d: &Dev, at: usize, len: usize) {
    if len < 0x28 {
        return;
    }
    o.reg("CXLPortSta");
    // 3.9.0 tests PMComplete with the register's offset (0x0a) as its mask.
    w!(o, "\t\tCXLPortSta:\tPMComplete{}\n", o.f("PMComplete", d.cfg.w(at + 0xa), 0x0a));
    o.reg("CXLPortCtl");
    w!(
        o,
        "\t\tCXLPortCtl:\t{}\n",
        o.flags(
            d.cfg.w(at + 0xc),
            &[("UnmaskSBR", 1), ("UnmaskLinkDisable", 2), ("AltMem", 4), ("AltBME", 8), ("ViralEnable", 0x4000)]
        )
    );
    o.reg("");
    w!(
        o,
        "\t\tAlternateBus:\t{:02x}-{:02x}\n",
        o.n("AltBusBase", d.cfg.b(at + 0xe)),
        o.n("AltBusLimit", d.cfg.b(at + 0xf))
    );
    w!(
        o,
        "\t\tAlternateBus:\t{:04x}-{:04x}\n",
        o.n("AltMemBase", d.cfg.w(at + 0x10)),
        o.n("AltMemLimit", d.cfg.w(at + 0x12))
    );
}

fn register_locator(o: &mut Out, d: &Dev, at: usize, len: usize) {
    const NAMES: [&str; 5] =
        ["empty", "component registers", "BAR virtualization", "CXL device registers", "CPMU registers"];
    let mut i = 0;
    loop {
        let pos = at + 0xc + 8 * i;
        if pos + 7 >= at + len {
            break;
        }
        let low = d.cfg.l(pos);
        let high = d.cfg.l(pos + 4);
        let bir = bits(low, 0, 3);
        let block = bits(low, 8, 8);
        let base = (u64::from(bits(low, 16, 16)) << 16) | (u64::from(high) << 32);
        i += 1;
        if block == 0 {
            continue;
        }
        let name = match block {
            0xff => "vendor-specific",
            b => NAMES.get(b as usize).copied().unwrap_or("<?>"),
        };
        o.reg(&format!("Block{i}"));
        w!(
            o,
            "\t\tBlock{i}: BIR: bar{}, ID: {}, offset: {:016x}\n",
            o.n("BIR", bir),
            o.s("ID", name),
            o.n("Offset", base)
        );
    }
}

/// A GPF time: (value, unit) from a base and a scale, with lspci's line for
/// a reserved scale.
fn gpf_time(o: &mut Out, reg: u32) -> (u32, &'static str) {
    let base = bits(reg, 0, 4);
    let scale = bits(reg, 8, 4);
    let value = match scale {
        2 | 5 => base * 100,
        1 | 4 | 7 => base * 10,
        0 | 3 | 6 => base,
        _ => {
            w!(o, "\t\tReserved time scale encoding {scale:x}\n");
            base
        }
    };
    let unit = match scale {
        0..=2 => "us",
        3..=5 => "ms",
        6 => "s",
        _ => "<?>",
    };
    (value, unit)
}

fn gpf_device(o: &mut Out, d: &Dev, at: usize) {
    o.reg("");
    let (value, unit) = gpf_time(o, u32::from(d.cfg.w(at + 0xa)));
    w!(o, "\t\tGPF Phase 2 Duration: {}{}\n", o.n("Phase2Duration", value), unit);
    w!(o, "\t\tGPF Phase 2 Power: {}mW\n", o.n("Phase2Power", d.cfg.l(at + 0xc)));
}

fn gpf_port(o: &mut Out, d: &Dev, at: usize) {
    o.reg("");
    let (value, unit) = gpf_time(o, u32::from(d.cfg.w(at + 0xc)));
    w!(o, "\t\tGPF Phase 1 Timeout: {}{}\n", o.n("Phase1Timeout", value), unit);
    let (value, unit) = gpf_time(o, u32::from(d.cfg.w(at + 0xe)));
    w!(o, "\t\tGPF Phase 2 Timeout: {}{}\n", o.n("Phase2Timeout", value), unit);
}

fn flex_bus(o: &mut Out, d: &Dev, at: usize, rev: u32) {
    if rev < 1 {
        w!(o, "\t\tRevision {rev} not supported\n");
        return;
    }
    let flit = |o: &mut Out, v: u16| {
        if rev > 1 {
            w!(o, " {}", o.flags(v, &[("256BFlit", 0x2000), ("PBRFlit", 0x4000)]));
        }
    };
    let cap = d.cfg.w(at + 0xa);
    o.reg("FBCap");
    w!(
        o,
        "\t\tFBCap:\t{}",
        o.flags(cap, &[("Cache", 1), ("IO", 2), ("Mem", 4), ("68BFlit", 0x20), ("MltLogDev", 0x40)])
    );
    flit(o, cap);
    let ctl = d.cfg.w(at + 0xc);
    o.reg("FBCtl");
    w!(
        o,
        "\n\t\tFBCtl:\t{}",
        o.flags(
            ctl,
            &[
                ("Cache", 1),
                ("IO", 2),
                ("Mem", 4),
                ("SynHdrByp", 8),
                ("DrftBuf", 0x10),
                ("68BFlit", 0x20),
                ("MltLogDev", 0x40),
                ("RCD", 0x80),
                ("Retimer1", 0x100),
                ("Retimer2", 0x200)
            ]
        )
    );
    flit(o, ctl);
    let sta = d.cfg.w(at + 0xe);
    o.reg("FBSta");
    w!(
        o,
        "\n\t\tFBSta:\t{}",
        o.flags(
            sta,
            &[
                ("Cache", 1),
                ("IO", 2),
                ("Mem", 4),
                ("SynHdrByp", 8),
                ("DrftBuf", 0x10),
                ("68BFlit", 0x20),
                ("MltLogDev", 0x40)
            ]
        )
    );
    flit(o, sta);
    o.reg("FBModTS");
    w!(o, "\n\t\tFBModTS:\tReceived FB Data: {:06x}\n", o.n("ReceivedFBData", bits(d.cfg.l(at + 0x10), 0, 24)));
    if rev > 1 {
        o.reg("FBCap2");
        w!(o, "\t\tFBCap2:\tNOPHint{}\n", o.f("NOPHint", d.cfg.l(at + 0x14), 1));
        o.reg("FBCtl2");
        w!(o, "\t\tFBCtl2:\tNOPHint{}\n", o.f("NOPHint", d.cfg.l(at + 0x18), 1));
        o.reg("FBSta2");
        w!(o, "\t\tFBSta2:\tNOPHintInfo: {:x}\n", o.n("NOPHintInfo", bits(d.cfg.l(at + 0x1c), 0, 2)));
    }
}

fn mld(o: &mut Out, d: &Dev, at: usize) {
    let n = d.cfg.w(at + 0xa);
    // Encodings above 16 are reserved.
    if n != 0 && n <= 0x10 {
        w!(o, "\t\tNumLogDevs: {}\n", o.n("NumLogDevs", n));
    }
}

fn function_map(o: &mut Out, d: &Dev, at: usize) {
    o.reg("");
    for i in 0..8 {
        // lspci reads each 32-bit map as a word.
        w!(o, "\t\tFuncMap {i}: {:08x}\n", o.n(&format!("FuncMap{i}"), d.cfg.w(at + 0xc + 4 * i)));
    }
}
