//! HyperTransport capabilities (lspci's `cap_ht`).

use super::cfg::Dev;
use super::out::{w, Out};

fn link_width(w: u32) -> &'static str {
    ["8bit", "16bit", "[2]", "32bit", "2bit", "4bit", "[6]", "N/C"][(w & 7) as usize]
}

fn link_freq(f: u32) -> &'static str {
    [
        "200MHz", "300MHz", "400MHz", "500MHz", "600MHz", "800MHz", "1.0GHz", "1.2GHz", "1.4GHz", "1.6GHz", "[a]",
        "[b]", "[c]", "[d]", "[e]", "Vend",
    ][(f & 0xf) as usize]
}

const LINK_CONTROL: &[(&str, u64)] =
    &[("CFlE", 0x2), ("CST", 0x4), ("CFE", 0x8), ("<LkFail", 0x10), ("Init", 0x20), ("EOC", 0x40), ("TXO", 0x80)];
const LINK_CONTROL_22: &[(&str, u64)] = &[("IsocEn", 0x1000), ("LSEn", 0x2000), ("ExtCTL", 0x4000), ("64b", 0x8000)];
const LINK_ERROR: &[(&str, u64)] = &[("<Prot", 0x10), ("<Ovfl", 0x20), ("<EOC", 0x40), ("CTLTm", 0x80)];
const LINK_FREQ_CAP: &[(&str, u64)] = &[
    ("200MHz", 0x1),
    ("300MHz", 0x2),
    ("400MHz", 0x4),
    ("500MHz", 0x8),
    ("600MHz", 0x10),
    ("800MHz", 0x20),
    ("1.0GHz", 0x40),
    ("1.2GHz", 0x80),
    ("1.4GHz", 0x100),
    ("1.6GHz", 0x200),
    ("Vend", 0x8000),
];
const FEATURE: &[(&str, u64)] =
    &[("IsocFC", 0x1), ("LDTSTOP", 0x2), ("CRCTM", 0x4), ("ECTLT", 0x8), ("64bA", 0x10), ("UIDRD", 0x20)];
const ERROR_HANDLING: &[(&str, u64)] = &[
    ("PFlE", 0x1),
    ("OFlE", 0x2),
    ("PFE", 0x4),
    ("OFE", 0x8),
    ("EOCFE", 0x10),
    ("RFE", 0x20),
    ("CRCFE", 0x40),
    ("SERRFE", 0x80),
    ("CF", 0x100),
    ("RE", 0x200),
    ("PNFE", 0x400),
    ("ONFE", 0x800),
    ("EOCNFE", 0x1000),
    ("RNFE", 0x2000),
    ("CRCNFE", 0x4000),
    ("SERRNFE", 0x8000),
];

/// Decode the HyperTransport capability at `at` (`cmd` is its command word).
pub(crate) fn cap_ht(o: &mut Out, d: &Dev, at: usize, cmd: u32) {
    match cmd & 0xe000 {
        0x0000 => return primary(o, d, at, cmd),
        0x2000 => return secondary(o, d, at, cmd),
        _ => {}
    }
    let kind = cmd & 0xf800;
    match kind {
        0x4000 => w!(o, "HyperTransport: Switch\n"),
        0x8000 => w!(o, "HyperTransport: Interrupt Discovery and Configuration\n"),
        0x8800 => w!(
            o,
            "HyperTransport: Revision ID: {}.{:02}\n",
            o.n("RevisionMajor", (cmd & 0xe0) >> 5),
            o.n("RevisionMinor", cmd & 0x1f)
        ),
        0x9000 => w!(o, "HyperTransport: UnitID Clumping\n"),
        0x9800 => w!(o, "HyperTransport: Extended Configuration Space Access\n"),
        0xa000 => w!(o, "HyperTransport: Address Mapping\n"),
        0xa800 => msi_mapping(o, d, at, cmd),
        0xb000 => w!(o, "HyperTransport: DirectRoute\n"),
        0xb800 => w!(o, "HyperTransport: VCSet\n"),
        0xc000 => w!(o, "HyperTransport: Retry Mode\n"),
        0xc800 => w!(o, "HyperTransport: X86 (reserved)\n"),
        _ => w!(o, "HyperTransport: #{:02x}\n", kind >> 11),
    }
}

fn msi_mapping(o: &mut Out, d: &Dev, at: usize, cmd: u32) {
    w!(o, "HyperTransport: MSI Mapping Enable{} Fixed{}\n", o.f("Enable", cmd, 1), o.f("Fixed", cmd, 2));
    if d.v() >= 2 && cmd & 2 == 0 {
        if !d.cfg.has(at + 4, 8) {
            return;
        }
        let low = d.cfg.l(at + 4);
        let high = d.cfg.l(at + 8);
        let base = (u64::from(high) << 32) | u64::from(low & !0xfffff);
        w!(o, "\t\tMapping Address Base: {:016x}\n", o.n("MappingAddressBase", base));
    }
}

/// `Link Control` fields; the last four only from revision 2.2.
fn link_control(o: &mut Out, label: &str, v: u32, rev22: bool) {
    w!(o, "\t\t{label}: {} <CRCErr={:x}", o.flags(v, LINK_CONTROL), o.n("<CRCErr", (v & 0xf00) >> 8));
    if rev22 {
        w!(o, " {}", o.flags(v, LINK_CONTROL_22));
    }
    w!(o, "\n");
}

/// `Link Config` fields; the flow-control flags only from revision 2.2.
fn link_config(o: &mut Out, label: &str, v: u32, rev22: bool) {
    let mlwi = o.s("MLWI", link_width(v & 7));
    let mlwo = o.s("MLWO", link_width((v & 0x70) >> 4));
    let lwi = o.s("LWI", link_width((v & 0x700) >> 8));
    let lwo = o.s("LWO", link_width((v & 0x7000) >> 12));
    if rev22 {
        w!(
            o,
            "\t\t{label}: MLWI={mlwi} DwFcIn{} MLWO={mlwo} DwFcOut{} LWI={lwi} DwFcInEn{} LWO={lwo} DwFcOutEn{}\n",
            o.f("DwFcIn", v, 0x8),
            o.f("DwFcOut", v, 0x80),
            o.f("DwFcInEn", v, 0x800),
            o.f("DwFcOutEn", v, 0x8000)
        );
    } else {
        w!(o, "\t\t{label}: MLWI={mlwi} MLWO={mlwo} LWI={lwi} LWO={lwo}\n");
    }
}

fn frequency_and_error(o: &mut Out, suffix: &str, v: u32) {
    w!(o, "\t\tLink Frequency{suffix}: {}\n", o.s("LinkFrequency", link_freq(v & 0xf)));
    w!(o, "\t\tLink Error{suffix}: {}\n", o.flags(v, LINK_ERROR));
}

fn revision(o: &mut Out, rid: u32) {
    w!(o, "\t\tRevision ID: {}.{:02}\n", o.n("RevisionMajor", (rid & 0xe0) >> 5), o.n("RevisionMinor", rid & 0x1f));
}

fn primary(o: &mut Out, d: &Dev, at: usize, cmd: u32) {
    w!(o, "HyperTransport: Slave or Primary Interface\n");
    if d.v() < 2 || !d.cfg.has(at + 4, 24) {
        return;
    }
    let rid = u32::from(d.cfg.b(at + 12));
    if rid < 0x22 && rid > 0x11 {
        w!(o, "\t\t!!! Possibly incomplete decoding\n");
    }
    let rev22 = rid >= 0x22;
    o.reg("Command");
    w!(
        o,
        "\t\tCommand: BaseUnitID={} UnitCnt={} {}",
        o.n("BaseUnitID", cmd & 0x1f),
        o.n("UnitCnt", (cmd & 0x3e0) >> 5),
        o.flags(cmd, &[("MastHost", 0x400), ("DefDir", 0x800)])
    );
    if rev22 {
        w!(o, " DUL{}", o.f("DUL", cmd, 0x1000));
    }
    w!(o, "\n");
    o.reg("LinkControl0");
    link_control(o, "Link Control 0", u32::from(d.cfg.w(at + 4)), rev22);
    o.reg("LinkConfig0");
    link_config(o, "Link Config 0", u32::from(d.cfg.w(at + 6)), rev22);
    o.reg("LinkControl1");
    link_control(o, "Link Control 1", u32::from(d.cfg.w(at + 8)), rev22);
    o.reg("LinkConfig1");
    link_config(o, "Link Config 1", u32::from(d.cfg.w(at + 10)), rev22);
    o.reg("RevisionID");
    revision(o, rid);
    if !rev22 {
        return;
    }
    o.reg("LinkFrequencyError0");
    frequency_and_error(o, " 0", u32::from(d.cfg.b(at + 13)));
    o.reg("LinkFrequencyCapability0");
    w!(o, "\t\tLink Frequency Capability 0: {}\n", o.flags(d.cfg.b(at + 14), LINK_FREQ_CAP));
    o.reg("FeatureCapability");
    w!(o, "\t\tFeature Capability: {}\n", o.flags(d.cfg.b(at + 16), FEATURE));
    o.reg("LinkFrequencyError1");
    frequency_and_error(o, " 1", u32::from(d.cfg.b(at + 17)));
    o.reg("LinkFrequencyCapability1");
    w!(o, "\t\tLink Frequency Capability 1: {}\n", o.flags(d.cfg.b(at + 18), LINK_FREQ_CAP));
    o.reg("ErrorHandling");
    w!(o, "\t\tError Handling: {}\n", o.flags(d.cfg.w(at + 22), ERROR_HANDLING));
    o.reg("");
    w!(
        o,
        "\t\tPrefetchable memory behind bridge Upper: {:02x}-{:02x}\n",
        o.n("MemoryBaseUpper", d.cfg.b(at + 24)),
        o.n("MemoryLimitUpper", d.cfg.b(at + 25))
    );
    w!(o, "\t\tBus Number: {:02x}\n", o.n("BusNumber", d.cfg.b(at + 26)));
}

fn secondary(o: &mut Out, d: &Dev, at: usize, cmd: u32) {
    w!(o, "HyperTransport: Host or Secondary Interface\n");
    if d.v() < 2 || !d.cfg.has(at + 4, 20) {
        return;
    }
    let rid = u32::from(d.cfg.b(at + 8));
    if rid < 0x22 && rid > 0x11 {
        w!(o, "\t\t!!! Possibly incomplete decoding\n");
    }
    let rev22 = rid >= 0x22;
    o.reg("Command");
    if rev22 {
        w!(
            o,
            "\t\tCommand: WarmRst{} DblEnd{} DevNum={} {}\n",
            o.f("WarmRst", cmd, 0x1),
            o.f("DblEnd", cmd, 0x2),
            o.n("DevNum", (cmd & 0x7c) >> 2),
            o.flags(
                cmd,
                &[("ChainSide", 0x80), ("HostHide", 0x100), ("Slave", 0x400), ("<EOCErr", 0x800), ("DUL", 0x1000)]
            )
        );
    } else {
        w!(o, "\t\tCommand: WarmRst{} DblEnd{}\n", o.f("WarmRst", cmd, 0x1), o.f("DblEnd", cmd, 0x2));
    }
    o.reg("LinkControl");
    link_control(o, "Link Control", u32::from(d.cfg.w(at + 4)), rev22);
    o.reg("LinkConfig");
    link_config(o, "Link Config", u32::from(d.cfg.w(at + 6)), rev22);
    o.reg("RevisionID");
    revision(o, rid);
    if !rev22 {
        return;
    }
    o.reg("LinkFrequencyError");
    frequency_and_error(o, "", u32::from(d.cfg.b(at + 9)));
    o.reg("LinkFrequencyCapability");
    w!(o, "\t\tLink Frequency Capability: {}\n", o.flags(d.cfg.b(at + 10), LINK_FREQ_CAP));
    let ftr = d.cfg.w(at + 12);
    o.reg("FeatureCapability");
    w!(
        o,
        "\t\tFeature Capability: {} {}\n",
        o.flags(ftr, FEATURE),
        o.flags(ftr, &[("ExtRS", 0x100), ("UCnfE", 0x200)])
    );
    if ftr & 0x100 != 0 {
        o.reg("ErrorHandling");
        w!(o, "\t\tError Handling: {}\n", o.flags(d.cfg.w(at + 18), ERROR_HANDLING));
        o.reg("");
        w!(
            o,
            "\t\tPrefetchable memory behind bridge Upper: {:02x}-{:02x}\n",
            o.n("MemoryBaseUpper", d.cfg.b(at + 20)),
            o.n("MemoryLimitUpper", d.cfg.b(at + 21))
        );
    }
}
