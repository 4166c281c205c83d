//! The PCI Express capability (lspci's `cap_express` and its helpers).

use super::cfg::{on, Dev};
use super::out::{c_g, w, Out};

/// Device/port types (PCIe capability register bits 7:4).
pub(crate) mod port {
    /// PCI Express Endpoint.
    pub(crate) const ENDPOINT: u32 = 0x0;
    /// Legacy PCI Express Endpoint.
    pub(crate) const LEGACY_ENDPOINT: u32 = 0x1;
    /// Root Port of a Root Complex.
    pub(crate) const ROOT_PORT: u32 = 0x4;
    /// Upstream Port of a switch.
    pub(crate) const UPSTREAM: u32 = 0x5;
    /// Downstream Port of a switch.
    pub(crate) const DOWNSTREAM: u32 = 0x6;
    /// PCI Express to PCI/PCI-X bridge.
    pub(crate) const PCI_BRIDGE: u32 = 0x7;
    /// PCI/PCI-X to PCI Express bridge.
    pub(crate) const PCIE_BRIDGE: u32 = 0x8;
    /// Root Complex Integrated Endpoint.
    pub(crate) const ROOT_INT_EP: u32 = 0x9;
    /// Root Complex Event Collector.
    pub(crate) const ROOT_EC: u32 = 0xa;
}
use port::*;

fn downstream_port(t: u32) -> bool {
    matches!(t, ROOT_PORT | DOWNSTREAM | PCIE_BRIDGE)
}

/// Decode the capability at `at`; returns the device/port type (lspci passes
/// it on to the extended capabilities).
pub(crate) fn cap_express(o: &mut Out, d: &Dev, at: usize, cap: u32) -> u32 {
    let t = (cap & 0xf0) >> 4;
    let mut slot = false;
    let mut link = true;
    w!(o, "Express ");
    if d.v() >= 2 {
        w!(o, "(v{}) ", o.n("Version", cap & 0xf));
    }
    o.n("Type", t);
    match t {
        ENDPOINT => w!(o, "Endpoint"),
        LEGACY_ENDPOINT => w!(o, "Legacy Endpoint"),
        ROOT_PORT => {
            slot = on(cap, 0x100);
            w!(o, "Root Port (Slot{})", o.f("Slot", cap, 0x100));
        }
        UPSTREAM => w!(o, "Upstream Port"),
        DOWNSTREAM => {
            slot = on(cap, 0x100);
            w!(o, "Downstream Port (Slot{})", o.f("Slot", cap, 0x100));
        }
        PCI_BRIDGE => w!(o, "PCI-Express to PCI/PCI-X Bridge"),
        PCIE_BRIDGE => {
            slot = on(cap, 0x100);
            w!(o, "PCI/PCI-X to PCI-Express Bridge (Slot{})", o.f("Slot", cap, 0x100));
        }
        ROOT_INT_EP => {
            link = false;
            w!(o, "Root Complex Integrated Endpoint");
        }
        ROOT_EC => {
            link = false;
            w!(o, "Root Complex Event Collector");
        }
        _ => w!(o, "Unknown type {t}"),
    }
    w!(o, ", MSI {:02x}\n", o.n("InterruptMessage", (cap & 0x3e00) >> 9));
    if d.v() < 2 {
        return t;
    }
    let root = t == ROOT_PORT || t == ROOT_EC;
    let size = if root {
        32
    } else if slot {
        24
    } else {
        16
    };
    if !d.cfg.has(at + 4, size) {
        return t;
    }
    dev(o, d, at, t);
    if link {
        self::link(o, d, at, t);
    }
    if slot {
        self::slot(o, d, at);
    }
    if root {
        self::root(o, d, at);
    }
    if cap & 0xf < 2 || !d.cfg.has(at + 0x24, if slot { 24 } else { 16 }) {
        return t;
    }
    dev2(o, d, at, t);
    if link {
        link2(o, d, at, t);
    }
    t
}

fn power_limit(o: &mut Out, name: &str, value: u32, scale: u32) -> String {
    const SCALES: [f32; 4] = [1.0, 0.1, 0.01, 0.001];
    if scale == 0 && value == 0xff {
        o.s(name, ">600W");
        return ">600W".to_string();
    }
    let value = if scale == 0 && (0xf0..=0xfe).contains(&value) { 250 + 25 * (value - 0xf0) } else { value };
    // lspci multiplies in single precision.
    let watts = f64::from(value as f32 * SCALES[(scale & 3) as usize]);
    format!("{}W", c_g(o.r(name, watts)))
}

fn latency_l0s(v: u32) -> &'static str {
    ["<64ns", "<128ns", "<256ns", "<512ns", "<1us", "<2us", "<4us", "unlimited"][(v & 7) as usize]
}

fn latency_l1(v: u32) -> &'static str {
    ["<1us", "<2us", "<4us", "<8us", "<16us", "<32us", "<64us", "unlimited"][(v & 7) as usize]
}

fn dev(o: &mut Out, d: &Dev, at: usize, t: u32) {
    let cap = d.cfg.l(at + 4);
    let endpoint = t == ENDPOINT || t == LEGACY_ENDPOINT;
    o.reg("DevCap");
    w!(
        o,
        "\t\tDevCap:\tMaxPayload {} bytes, PhantFunc {}",
        o.n("MaxPayload", 128u32 << (cap & 7)),
        o.n("PhantFunc", (1u32 << ((cap & 0x18) >> 3)) - 1)
    );
    if endpoint {
        w!(
            o,
            ", Latency L0s {}, L1 {}",
            o.s("L0s", latency_l0s((cap & 0x1c0) >> 6)),
            o.s("L1", latency_l1((cap & 0xe00) >> 9))
        );
    }
    w!(o, "\n");
    w!(o, "\t\t\tExtTag{}", o.f("ExtTag", cap, 0x20));
    if endpoint || t == UPSTREAM || t == PCI_BRIDGE {
        w!(o, " {}", o.flags(cap, &[("AttnBtn", 0x1000), ("AttnInd", 0x2000), ("PwrInd", 0x4000)]));
    }
    w!(o, " RBE{}", o.f("RBE", cap, 0x8000));
    let flr_type = endpoint || t == ROOT_INT_EP;
    if flr_type {
        w!(o, " FLReset{}", o.f("FLReset", cap, 0x1000_0000));
    }
    if t == ENDPOINT || t == UPSTREAM || t == PCI_BRIDGE {
        let limit = power_limit(o, "SlotPowerLimit", (cap & 0x3fc_0000) >> 18, (cap & 0xc00_0000) >> 26);
        w!(o, " SlotPowerLimit {limit}");
    }
    w!(o, "\n");

    let ctl = u32::from(d.cfg.w(at + 8));
    o.reg("DevCtl");
    w!(o, "\t\tDevCtl:\t{}\n", o.flags(ctl, &[("CorrErr", 1), ("NonFatalErr", 2), ("FatalErr", 4), ("UnsupReq", 8)]));
    w!(
        o,
        "\t\t\t{}",
        o.flags(
            ctl,
            &[("RlxdOrd", 0x10), ("ExtTag", 0x100), ("PhantFunc", 0x200), ("AuxPwr", 0x400), ("NoSnoop", 0x800)]
        )
    );
    if t == PCI_BRIDGE {
        w!(o, " BrConfRtry{}", o.f("BrConfRtry", ctl, 0x8000));
    }
    if flr_type && on(cap, 0x1000_0000) {
        w!(o, " FLReset{}", o.f("FLReset", ctl, 0x8000));
    }
    w!(
        o,
        "\n\t\t\tMaxPayload {} bytes, MaxReadReq {} bytes\n",
        o.n("MaxPayload", 128u32 << ((ctl & 0xe0) >> 5)),
        o.n("MaxReadReq", 128u32 << ((ctl & 0x7000) >> 12))
    );

    let sta = d.cfg.w(at + 10);
    o.reg("DevSta");
    w!(
        o,
        "\t\tDevSta:\t{}\n",
        o.flags(
            sta,
            &[
                ("CorrErr", 1),
                ("NonFatalErr", 2),
                ("FatalErr", 4),
                ("UnsupReq", 8),
                ("AuxPwr", 0x10),
                ("TransPend", 0x20)
            ]
        )
    );
}

fn link_speed(speed: u32) -> &'static str {
    match speed {
        1 => "2.5GT/s",
        2 => "5GT/s",
        3 => "8GT/s",
        4 => "16GT/s",
        5 => "32GT/s",
        6 => "64GT/s",
        _ => "unknown",
    }
}

fn link_compare(t: u32, sta: u32, cap: u32) -> &'static str {
    if sta > cap {
        " (overdriven)"
    } else if sta == cap || downstream_port(t) {
        ""
    } else {
        " (downgraded)"
    }
}

fn aspm_support(code: u32) -> &'static str {
    match code {
        0 => "not supported",
        1 => "L0s",
        2 => "L1",
        3 => "L0s L1",
        _ => "unknown",
    }
}

fn link(o: &mut Out, d: &Dev, at: usize, t: u32) {
    let cap = d.cfg.l(at + 0xc);
    let aspm = (cap & 0xc00) >> 10;
    let cap_speed = cap & 0xf;
    let cap_width = (cap & 0x3f0) >> 4;
    o.reg("LnkCap");
    w!(
        o,
        "\t\tLnkCap:\tPort #{}, Speed {}, Width x{}, ASPM {}",
        o.n("Port", cap >> 24),
        o.s("Speed", link_speed(cap_speed)),
        o.n("Width", cap_width),
        o.s("ASPM", aspm_support(aspm))
    );
    if aspm != 0 {
        w!(o, ", Exit Latency ");
        if aspm & 1 != 0 {
            w!(o, "L0s {}", o.s("L0sExitLatency", latency_l0s((cap & 0x7000) >> 12)));
        }
        if aspm & 2 != 0 {
            w!(
                o,
                "{}L1 {}",
                if aspm & 1 != 0 { ", " } else { "" },
                o.s("L1ExitLatency", latency_l1((cap & 0x38000) >> 15))
            );
        }
    }
    w!(o, "\n");
    w!(
        o,
        "\t\t\t{}\n",
        o.flags(
            cap,
            &[
                ("ClockPM", 0x40000),
                ("Surprise", 0x80000),
                ("LLActRep", 0x10_0000),
                ("BwNot", 0x20_0000),
                ("ASPMOptComp", 0x40_0000)
            ]
        )
    );

    let ctl = u32::from(d.cfg.w(at + 0x10));
    const ASPM_ENABLED: [&str; 4] = ["Disabled", "L0s Enabled", "L1 Enabled", "L0s L1 Enabled"];
    o.reg("LnkCtl");
    w!(o, "\t\tLnkCtl:\tASPM {};", o.s("ASPM", ASPM_ENABLED[(ctl & 3) as usize]));
    if matches!(t, ROOT_PORT | ENDPOINT | LEGACY_ENDPOINT | PCI_BRIDGE) {
        w!(o, " RCB {} bytes,", o.n("RCB", if on(ctl, 0x8) { 128u32 } else { 64 }));
    }
    w!(
        o,
        " {}\n\t\t\t{}\n",
        o.flags(ctl, &[("Disabled", 0x10), ("CommClk", 0x40)]),
        o.flags(
            ctl,
            &[("ExtSynch", 0x80), ("ClockPM", 0x100), ("AutWidDis", 0x200), ("BWInt", 0x400), ("AutBWInt", 0x800)]
        )
    );

    let sta = u32::from(d.cfg.w(at + 0x12));
    let sta_speed = sta & 0xf;
    let sta_width = (sta & 0x3f0) >> 4;
    o.reg("LnkSta");
    w!(
        o,
        "\t\tLnkSta:\tSpeed {}{}, Width x{}{}\n",
        o.s("Speed", link_speed(sta_speed)),
        link_compare(t, sta_speed, cap_speed),
        o.n("Width", sta_width),
        link_compare(t, sta_width, cap_width)
    );
    w!(
        o,
        "\t\t\t{}\n",
        o.flags(
            sta,
            &[
                ("TrErr", 0x400),
                ("Train", 0x800),
                ("SlotClk", 0x1000),
                ("DLActive", 0x2000),
                ("BWMgmt", 0x4000),
                ("ABWMgmt", 0x8000)
            ]
        )
    );
}

fn indicator(code: u32) -> &'static str {
    ["Unknown", "On", "Blink", "Off"][(code & 3) as usize]
}

fn slot(o: &mut Out, d: &Dev, at: usize) {
    let cap = d.cfg.l(at + 0x14);
    o.reg("SltCap");
    w!(
        o,
        "\t\tSltCap:\t{}\n",
        o.flags(
            cap,
            &[
                ("AttnBtn", 1),
                ("PwrCtrl", 2),
                ("MRL", 4),
                ("AttnInd", 8),
                ("PwrInd", 0x10),
                ("HotPlug", 0x40),
                ("Surprise", 0x20)
            ]
        )
    );
    w!(o, "\t\t\tSlot #{}, PowerLimit ", o.n("Slot", (cap & 0xfff8_0000) >> 19));
    let limit = power_limit(o, "PowerLimit", (cap & 0x7f80) >> 7, (cap & 0x18000) >> 15);
    w!(o, "{limit}; {}\n", o.flags(cap, &[("Interlock", 0x20000), ("NoCompl", 0x40000)]));

    let ctl = u32::from(d.cfg.w(at + 0x18));
    o.reg("SltCtl");
    w!(
        o,
        "\t\tSltCtl:\tEnable: {}\n",
        o.flags(
            ctl,
            &[
                ("AttnBtn", 1),
                ("PwrFlt", 2),
                ("MRL", 4),
                ("PresDet", 8),
                ("CmdCplt", 0x10),
                ("HPIrq", 0x20),
                ("LinkChg", 0x1000)
            ]
        )
    );
    w!(
        o,
        "\t\t\tControl: AttnInd {}, PwrInd {}, {}\n",
        o.s("AttnInd", indicator((ctl & 0xc0) >> 6)),
        o.s("PwrInd", indicator((ctl & 0x300) >> 8)),
        o.flags(ctl, &[("Power", 0x400), ("Interlock", 0x800)])
    );

    let sta = d.cfg.w(at + 0x1a);
    o.reg("SltSta");
    w!(
        o,
        "\t\tSltSta:\tStatus: {}\n",
        o.flags(
            sta,
            &[
                ("AttnBtn", 1),
                ("PowerFlt", 2),
                ("MRL", 0x20),
                ("CmdCplt", 0x10),
                ("PresDet", 0x40),
                ("Interlock", 0x80)
            ]
        )
    );
    o.reg("SltSta.Changed");
    w!(o, "\t\t\tChanged: {}\n", o.flags(sta, &[("MRL", 4), ("PresDet", 8), ("LinkState", 0x100)]));
}

fn root(o: &mut Out, d: &Dev, at: usize) {
    o.reg("RootCap");
    w!(o, "\t\tRootCap: CRSVisible{}\n", o.f("CRSVisible", d.cfg.w(at + 0x1e), 1));
    o.reg("RootCtl");
    w!(
        o,
        "\t\tRootCtl: {}\n",
        o.flags(
            d.cfg.w(at + 0x1c),
            &[("ErrCorrectable", 1), ("ErrNon-Fatal", 2), ("ErrFatal", 4), ("PMEIntEna", 8), ("CRSVisible", 0x10)]
        )
    );
    let sta = d.cfg.l(at + 0x20);
    o.reg("RootSta");
    w!(
        o,
        "\t\tRootSta: PME ReqID {:04x}, {}\n",
        o.n("PMEReqID", sta & 0xffff),
        o.flags(sta, &[("PMEStatus", 0x10000), ("PMEPending", 0x20000)])
    );
}

fn timeout_range(v: u32) -> &'static str {
    match v {
        0 => "Not Supported",
        1 => "Range A",
        2 => "Range B",
        3 => "Range AB",
        6 => "Range BC",
        7 => "Range ABC",
        14 => "Range BCD",
        15 => "Range ABCD",
        _ => "Unknown",
    }
}

fn timeout_value(v: u32) -> &'static str {
    match v {
        0 => "50us to 50ms",
        1 => "50us to 100us",
        2 => "1ms to 10ms",
        5 => "16ms to 55ms",
        6 => "65ms to 210ms",
        9 => "260ms to 900ms",
        10 => "1s to 3.5s",
        13 => "4s to 13s",
        14 => "17s to 64s",
        _ => "Unknown",
    }
}

fn devcap2_obff(v: u32) -> &'static str {
    match v {
        1 => "Via message",
        2 => "Via WAKE#",
        3 => "Via message/WAKE#",
        _ => "Not Supported",
    }
}

fn devcap2_epr(v: u32) -> &'static str {
    match v {
        1 => "Dev Specific",
        2 => "Form Factor Dev Specific",
        3 => "Reserved",
        _ => "Not Supported",
    }
}

fn devcap2_lncls(v: u32) -> &'static str {
    match v {
        1 => "64byte cachelines",
        2 => "128byte cachelines",
        3 => "Reserved",
        _ => "Not Supported",
    }
}

fn devcap2_tphcomp(v: u32) -> &'static str {
    match v {
        1 => "TPHComp+ ExtTPHComp-",
        // Reserved: lspci prints nothing for it.
        2 => "",
        3 => "TPHComp+ ExtTPHComp+",
        _ => "TPHComp- ExtTPHComp-",
    }
}

fn devctl2_obff(v: u32) -> &'static str {
    match v {
        0 => "Disabled",
        1 => "Via message A",
        2 => "Via message B",
        3 => "Via WAKE#",
        _ => "Unknown",
    }
}

/// Whether the function has a memory BAR as lspci decides it: the caller's
/// answer, else the header's BARs (as libpci fills them from a dump).
fn has_memory_bar(d: &Dev) -> bool {
    if let Some(known) = d.opt.memory_bar {
        return known;
    }
    let count = match d.cfg.header_type() {
        0 => 6,
        1 => 2,
        2 => 1,
        _ => 0,
    };
    let mut i = 0;
    while i < count {
        let bar = d.cfg.l(0x10 + 4 * i);
        if bar == 0 || bar == 0xffff_ffff {
            i += 1;
            continue;
        }
        if bar & 1 == 0 {
            // A 64-bit BAR in the last slot is invalid: libpci leaves it out.
            if bar & 6 != 4 || i + 1 < count {
                return true;
            }
        }
        i += if bar & 1 == 0 && bar & 6 == 4 { 2 } else { 1 };
    }
    false
}

fn dev2(o: &mut Out, d: &Dev, at: usize, t: u32) {
    let has_mem_bar = has_memory_bar(d);
    let cap = d.cfg.l(at + 0x24);
    o.reg("DevCap2");
    w!(
        o,
        "\t\tDevCap2: Completion Timeout: {}, {}",
        o.s("CompletionTimeout", timeout_range(cap & 0xf)),
        o.flags(cap, &[("TimeoutDis", 0x10), ("NROPrPrP", 0x400), ("LTR", 0x800)])
    );
    w!(
        o,
        "\n\t\t\t {} OBFF {}, {}",
        o.flags(cap, &[("10BitTagComp", 0x10000), ("10BitTagReq", 0x20000)]),
        o.s("OBFF", devcap2_obff((cap >> 18) & 3)),
        o.flags(cap, &[("ExtFmt", 0x10_0000), ("EETLPPrefix", 0x20_0000)])
    );
    if on(cap, 0x20_0000) {
        let max = (cap >> 22) & 3;
        w!(o, ", MaxEETLPPrefixes {}", o.n("MaxEETLPPrefixes", if max != 0 { max } else { 4 }));
    }
    w!(
        o,
        "\n\t\t\t EmergencyPowerReduction {}, EmergencyPowerReductionInit{}",
        o.s("EmergencyPowerReduction", devcap2_epr((cap >> 24) & 3)),
        o.f("EmergencyPowerReductionInit", cap, 0x400_0000)
    );
    w!(o, "\n\t\t\t FRS{}", o.f("FRS", cap, 0x8000_0000));
    if t == ROOT_PORT {
        w!(o, " LN System CLS {},", o.s("LNSystemCLS", devcap2_lncls((cap >> 14) & 3)));
    }
    if t == ROOT_PORT || t == ENDPOINT {
        let tph = (cap >> 12) & 3;
        o.f("TPHComp", tph, 1);
        o.f("ExtTPHComp", tph, 2);
        w!(o, " {}", devcap2_tphcomp(tph));
    }
    let switch_port = matches!(t, ROOT_PORT | UPSTREAM | DOWNSTREAM);
    if t == ROOT_PORT || t == DOWNSTREAM {
        w!(o, " ARIFwd{}\n", o.f("ARIFwd", cap, 0x20));
    } else {
        w!(o, "\n");
    }
    if switch_port || has_mem_bar {
        w!(o, "\t\t\t AtomicOpsCap:");
        if switch_port {
            w!(o, " Routing{}", o.f("AtomicOpsRouting", cap, 0x40));
        }
        if t == ROOT_PORT || has_mem_bar {
            w!(
                o,
                " 32bit{} 64bit{} 128bitCAS{}",
                o.f("AtomicOps32bit", cap, 0x80),
                o.f("AtomicOps64bit", cap, 0x100),
                o.f("AtomicOps128bitCAS", cap, 0x200)
            );
        }
        w!(o, "\n");
    }

    let ctl = u32::from(d.cfg.w(at + 0x28));
    o.reg("DevCtl2");
    w!(
        o,
        "\t\tDevCtl2: Completion Timeout: {}, {} OBFF {},",
        o.s("CompletionTimeout", timeout_value(ctl & 0xf)),
        o.flags(ctl, &[("TimeoutDis", 0x10), ("LTR", 0x400), ("10BitTagReq", 0x1000)]),
        o.s("OBFF", devctl2_obff((ctl >> 13) & 3))
    );
    if t == ROOT_PORT || t == DOWNSTREAM {
        w!(o, " ARIFwd{}\n", o.f("ARIFwd", ctl, 0x20));
    } else {
        w!(o, "\n");
    }
    let requester = matches!(t, ROOT_PORT | ENDPOINT | ROOT_INT_EP | LEGACY_ENDPOINT);
    if switch_port || requester {
        w!(o, "\t\t\t AtomicOpsCtl:");
        if requester {
            w!(o, " ReqEn{}", o.f("AtomicOpsReqEn", ctl, 0x40));
        }
        if switch_port {
            w!(o, " EgressBlck{}", o.f("AtomicOpsEgressBlck", ctl, 0x80));
        }
        w!(o, "\n");
    }
}

fn link2_speed_cap(vector: u32) -> &'static str {
    if vector & 0x60 != 0 {
        "RsvdP"
    } else if vector & 0x10 != 0 {
        "2.5-32GT/s"
    } else if vector & 0x08 != 0 {
        "2.5-16GT/s"
    } else if vector & 0x04 != 0 {
        "2.5-8GT/s"
    } else if vector & 0x02 != 0 {
        "2.5-5GT/s"
    } else if vector & 0x01 != 0 {
        "2.5GT/s"
    } else {
        "Unknown"
    }
}

fn link2_speed(v: u32) -> &'static str {
    match v {
        0 | 1 => "2.5GT/s",
        2 => "5GT/s",
        3 => "8GT/s",
        4 => "16GT/s",
        5 => "32GT/s",
        6 => "64GT/s",
        _ => "Unknown",
    }
}

fn deemphasis(v: u32) -> &'static str {
    match v {
        0 => "-6dB",
        1 => "-3.5dB",
        _ => "Unknown",
    }
}

fn compliance_preset(v: u32) -> &'static str {
    match v {
        0 => "-6dB de-emphasis, 0dB preshoot",
        1 => "-3.5dB de-emphasis, 0dB preshoot",
        2 => "-4.4dB de-emphasis, 0dB preshoot",
        3 => "-2.5dB de-emphasis, 0dB preshoot",
        4 => "0dB de-emphasis, 0dB preshoot",
        5 => "0dB de-emphasis, 1.9dB preshoot",
        6 => "0dB de-emphasis, 2.5dB preshoot",
        7 => "-6.0dB de-emphasis, 3.5dB preshoot",
        8 => "-3.5dB de-emphasis, 3.5dB preshoot",
        9 => "0dB de-emphasis, 3.5dB preshoot",
        _ => "Unknown",
    }
}

fn transmit_margin(v: u32) -> &'static str {
    match v {
        0 => "Normal Operating Range",
        1 => "800-1200mV(full-swing)/400-700mV(half-swing)",
        2..=5 => "200-400mV(full-swing)/100-200mV(half-swing)",
        _ => "Unknown",
    }
}

fn crosslink_res(v: u32) -> &'static str {
    match v {
        0 => "unsupported",
        1 => "Upstream Port",
        2 => "Downstream Port",
        _ => "incomplete",
    }
}

fn component(v: u32) -> &'static str {
    match v {
        0 => "Link Down - Not Determined",
        1 => "Link Down - Not Present",
        2 => "Link Down - Present",
        4 => "Link Up - Present",
        5 => "Link Up - Present and DRS Received",
        _ => "Reserved",
    }
}

fn link2(o: &mut Out, d: &Dev, at: usize, t: u32) {
    let mut cap = 0;
    // Link Capabilities 2 was reserved before PCIe r3.0: lspci reads it only
    // where a link's function 0 would have it.
    let other_function = d.opt.device != 0 || d.opt.function != 0;
    if !((t == ENDPOINT || t == LEGACY_ENDPOINT) && other_function) {
        cap = d.cfg.l(at + 0x2c);
        if cap != 0 {
            o.reg("LnkCap2");
            w!(
                o,
                "\t\tLnkCap2: Supported Link Speeds: {}, {}\n",
                o.s("SupportedLinkSpeeds", link2_speed_cap((cap >> 1) & 0x7f)),
                o.flags(
                    cap,
                    &[("Crosslink", 0x100), ("Retimer", 0x80_0000), ("2Retimers", 0x100_0000), ("DRS", 0x8000_0000)]
                )
            );
        }
        let ctl = u32::from(d.cfg.w(at + 0x30));
        o.reg("LnkCtl2");
        w!(
            o,
            "\t\tLnkCtl2: Target Link Speed: {}, {}",
            o.s("TargetLinkSpeed", link2_speed(ctl & 0xf)),
            o.flags(ctl, &[("EnterCompliance", 0x10), ("SpeedDis", 0x20)])
        );
        if t == DOWNSTREAM {
            w!(o, ", Selectable De-emphasis: {}", o.s("SelectableDe-emphasis", deemphasis((ctl >> 6) & 1)));
        }
        w!(
            o,
            "\n\t\t\t Transmit Margin: {}, {}\n\t\t\t Compliance Preset/De-emphasis: {}\n",
            o.s("TransmitMargin", transmit_margin((ctl >> 7) & 7)),
            o.flags(ctl, &[("EnterModifiedCompliance", 0x400), ("ComplianceSOS", 0x800)]),
            o.s("CompliancePreset", compliance_preset((ctl >> 12) & 0xf))
        );
    }

    let sta = u32::from(d.cfg.w(at + 0x32));
    o.reg("LnkSta2");
    w!(
        o,
        "\t\tLnkSta2: Current De-emphasis Level: {}, {}\n\t\t\t {}\n\t\t\t {} CrosslinkRes: {}",
        o.s("CurrentDe-emphasisLevel", deemphasis(sta & 1)),
        o.flags(sta, &[("EqualizationComplete", 0x2), ("EqualizationPhase1", 0x4)]),
        o.flags(sta, &[("EqualizationPhase2", 0x8), ("EqualizationPhase3", 0x10), ("LinkEqualizationRequest", 0x20)]),
        o.flags(sta, &[("Retimer", 0x40), ("2Retimers", 0x80)]),
        o.s("CrosslinkRes", crosslink_res((sta >> 8) & 3))
    );
    if downstream_port(t) && on(cap, 0x8000_0000) {
        w!(
            o,
            ", DRS{}\n\t\t\t DownstreamComp: {}\n",
            o.f("DRS", sta, 0x8000),
            o.s("DownstreamComp", component((sta >> 12) & 7))
        );
    } else {
        w!(o, "\n");
    }
}
