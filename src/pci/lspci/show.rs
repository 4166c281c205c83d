//! A whole device as lspci prints it (lspci.c's `show_device`): the title,
//! the header lines of `-v`/`-vv`/`-vvv` (Subsystem, Control, Status,
//! Latency, Interrupt, BARs, ROM, bridge windows, BIST...), the capability
//! blocks ([`super::decode`]), the kernel lines of `-k` and the hex dump of
//! `-x`..`-xxxx`, from config-space bytes and what the operating system
//! adds ([`Facts`]: sysfs on a live system, nothing for a dump).
//!
//! Pure like the rest of the decoder: no I/O, no panic on any input.

use super::cfg::Cfg;
use super::{decode, Block, Options};
use crate::pci::ids::{Numeric, PciIds};

/// A BAR, ROM or bridge window as the kernel reports it (a line of sysfs
/// `resource`): start, size, `IORESOURCE_*` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// First address.
    pub start: u64,
    /// Size in bytes (0: none).
    pub size: u64,
    /// The kernel's `IORESOURCE_*` flags.
    pub flags: u64,
}

/// What the kernel reports of a function's resources (sysfs `resource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// The six BARs.
    pub bars: [Resource; 6],
    /// The expansion ROM.
    pub rom: Resource,
    /// A bridge's windows (I/O, memory, prefetchable, and a fourth), when
    /// the file lists them.
    pub bridge: Option<[Resource; 4]>,
}

impl Resources {
    /// From the lines of sysfs `resource` (start, end, flags each), read as
    /// libpci reads them: BARs, the ROM, then the bridge windows when the
    /// file has 11 lines (or 17, with the six SR-IOV lines before them).
    pub fn from_lines(lines: &[(u64, u64, u64)]) -> Resources {
        let one = |(start, end, flags): (u64, u64, u64)| Resource {
            start,
            size: if end > start { end - start + 1 } else { 0 },
            flags,
        };
        let mut r = Resources::default();
        let lines: Vec<Resource> = lines.iter().take(18).copied().map(one).collect();
        for (i, line) in lines.iter().enumerate().take(6) {
            r.bars[i] = *line;
        }
        if let Some(rom) = lines.get(6) {
            r.rom = *rom;
        }
        let skip = match lines.len() {
            11 => Some(7),
            17 => Some(13),
            _ => None,
        };
        if let Some(at) = skip {
            r.bridge = Some([lines[at], lines[at + 1], lines[at + 2], lines[at + 3]]);
        }
        r
    }

    /// Whether a BAR is in memory space (lspci's `device_has_memory_space_bar`).
    pub fn has_memory_bar(&self) -> bool {
        self.bars.iter().any(|b| (b.start != 0 || b.size != 0) && (b.start | (b.flags & 0xf)) & 1 == 0)
    }
}

/// IDs as the kernel reports them (sysfs `vendor`, `device`, `class`,
/// `revision`, `subsystem_*`): lspci shows the kernel's view, which quirks
/// may have fixed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelIds {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// 24-bit class code.
    pub class: u32,
    /// Revision, when sysfs has it.
    pub revision: Option<u8>,
    /// Subsystem vendor and device, when sysfs has them.
    pub subsystem: Option<(u16, u16)>,
}

/// What the operating system knows of a function besides its config space.
/// All empty for a dump (`lspci -F`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// IDs as the kernel has them (else they come from config space).
    pub ids: Option<KernelIds>,
    /// The IRQ the kernel routed (sysfs `irq`); else config's INTERRUPT_LINE.
    pub irq: Option<u32>,
    /// BARs, ROM and bridge windows (sysfs `resource`); else config's BARs.
    pub resources: Option<Resources>,
    /// `Physical Slot:` (sysfs `slots/*/address`).
    pub physical_slot: Option<String>,
    /// NUMA node (sysfs `numa_node`, when not -1).
    pub numa_node: Option<i32>,
    /// IOMMU group.
    pub iommu_group: Option<String>,
    /// `DeviceName:` (sysfs `label`).
    pub label: Option<String>,
    /// The bound kernel driver.
    pub driver: Option<String>,
    /// Kernel modules that can drive it (`Kernel modules:`).
    pub modules: Vec<String>,
}

/// How to print a device, as lspci's options say.
#[derive(Clone, Copy, Debug)]
pub struct ShowOptions<'a> {
    /// `-v` count: 0 (one line), 1, 2 or 3.
    pub verbosity: u8,
    /// `-n` count.
    pub numeric: Numeric,
    /// `-k`: the kernel driver and modules.
    pub kernel: bool,
    /// `-x` count: 0, 1 (64 bytes), 3 (256), 4 (4096); 2 is 1.
    pub hex: u8,
    /// Print the domain (`-D`, or any device of the machine or dump has one).
    pub domain: bool,
    /// Names.
    pub ids: &'a PciIds,
    /// The device's VPD (sysfs `vpd`), read at `-vvv` only.
    pub vpd: Option<&'a [u8]>,
}

/// A function to print: its address, config space as read, and facts.
#[derive(Clone, Copy, Debug)]
pub struct Function<'a> {
    /// Domain (lspci's dumps allow five hex digits).
    pub domain: u32,
    /// Bus.
    pub bus: u8,
    /// Device.
    pub device: u8,
    /// Function.
    pub function: u8,
    /// Config space as read (64 bytes unprivileged, 256 or 4096 as root, or
    /// what a dump gives).
    pub config: &'a [u8],
    /// What the operating system adds.
    pub facts: &'a Facts,
}

impl Function<'_> {
    /// lspci's slot name: `00:1f.3`, or `0000:00:1f.3` with `domain`.
    pub fn slot_name(&self, domain: bool) -> String {
        let slot = format!("{:02x}:{:02x}.{}", self.bus, self.device, self.function);
        if domain {
            format!("{:04x}:{slot}", self.domain)
        } else {
            slot
        }
    }
}

/// A device as lspci prints it.
#[derive(Clone, Debug, Default)]
pub struct Shown {
    /// Every line, in order, a blank one last when lspci prints one.
    pub lines: Vec<String>,
    /// The capability blocks among them (with their named fields).
    pub blocks: Vec<Block>,
}

/// lspci's `FLAG`.
fn flag(value: u32, mask: u32) -> char {
    if value & mask != 0 {
        '+'
    } else {
        '-'
    }
}

/// What lspci can read of config space: the bytes given, 64 at first (128
/// for CardBus), the rest fetched when a part asks for it.
struct Dev<'a> {
    f: &'a Function<'a>,
    cfg: Cfg<'a>,
    /// No config space at all (not even the header).
    no_config: bool,
    /// How much lspci reads before it is asked for more: 64, or 128 for a
    /// CardBus bridge whose second 64 bytes were read.
    cached: usize,
    /// The IDs lspci shows.
    vendor: u16,
    device_id: u16,
    class: u32,
    revision: u8,
    subsystem: Option<(u16, u16)>,
    irq: u32,
    /// BARs: (base with flags, size, kernel flags); from sysfs or config.
    bases: [u64; 6],
    sizes: Option<[u64; 6]>,
    io_flags: Option<[u64; 6]>,
    rom: u64,
    rom_size: Option<u64>,
    rom_flags: u64,
    bridge: Option<[Resource; 4]>,
}

const IORESOURCE_IO: u64 = 0x100;
const IORESOURCE_MEM: u64 = 0x200;
const IORESOURCE_PREFETCH: u64 = 0x2000;
const IORESOURCE_MEM_64: u64 = 0x0010_0000;
const IORESOURCE_TYPE_BITS: u64 = 0x1f00;
const IORESOURCE_EA_BEI: u64 = 1 << 5;

/// lspci's `ioflg_to_pciflg`: kernel flags as the low bits of a BAR.
fn pci_flags(ioflg: u64) -> u32 {
    if ioflg & IORESOURCE_IO != 0 {
        1
    } else if ioflg & IORESOURCE_MEM == 0 {
        0
    } else {
        let mut flg = if ioflg & IORESOURCE_MEM_64 != 0 { 4 } else { 0 };
        if ioflg & IORESOURCE_PREFETCH != 0 {
            flg |= 8;
        }
        flg
    }
}

impl<'a> Dev<'a> {
    fn new(f: &'a Function<'a>) -> Dev<'a> {
        let cfg = Cfg::new(f.config);
        let no_config = !cfg.has(0, 64);
        let mut cached = if no_config { 0 } else { 64 };
        if !no_config && cfg.header_type() == 2 && cfg.has(64, 64) {
            cached = 128;
        }
        let header = if no_config { 0xff } else { cfg.header_type() };
        let ids = f.facts.ids;
        let config_subsystem = || -> Option<(u16, u16)> {
            match header {
                0 => Some((cfg.w(0x2c), cfg.w(0x2e))),
                1 => ssvid(&cfg).map(|at| (cfg.w(at + 4), cfg.w(at + 6))),
                2 if cfg.has(0x40, 4) => Some((cfg.w(0x40), cfg.w(0x42))),
                _ => None,
            }
        };
        let subsystem = match ids {
            Some(k) => k.subsystem,
            None => config_subsystem(),
        };
        let mut d = Dev {
            f,
            cfg,
            no_config,
            cached,
            vendor: ids.map_or(cfg.w(0), |k| k.vendor),
            device_id: ids.map_or(cfg.w(2), |k| k.device),
            class: ids.map_or(cfg.l(8) >> 8, |k| k.class),
            revision: ids.and_then(|k| k.revision).unwrap_or(cfg.b(8)),
            subsystem,
            irq: f.facts.irq.unwrap_or(u32::from(cfg.b(0x3c))),
            bases: [0; 6],
            sizes: None,
            io_flags: None,
            rom: 0,
            rom_size: None,
            rom_flags: 0,
            bridge: None,
        };
        match &f.facts.resources {
            Some(r) => {
                for (i, b) in r.bars.iter().enumerate() {
                    d.bases[i] = b.start | (b.flags & 0xf);
                }
                d.sizes = Some(r.bars.map(|b| b.size));
                d.io_flags = Some(r.bars.map(|b| b.flags));
                d.rom = r.rom.start | (r.rom.flags & 0xf);
                d.rom_size = Some(r.rom.size);
                d.rom_flags = r.rom.flags;
                d.bridge = r.bridge;
            }
            None if !no_config => d.config_bases(header),
            None => {}
        }
        d
    }

    /// libpci's `pci_generic_fill_info` for the BARs and ROM of a dump.
    fn config_bases(&mut self, header: u8) {
        let count = match header {
            0 => 6,
            1 => 2,
            2 => 1,
            _ => 0,
        };
        let mut i = 0;
        while i < count {
            let x = self.cfg.l(0x10 + 4 * i);
            if x == 0 || x == 0xffff_ffff {
                i += 1;
                continue;
            }
            if x & 1 == 1 || x & 6 != 4 {
                self.bases[i] = u64::from(x);
            } else if i + 1 < count {
                let y = self.cfg.l(0x10 + 4 * (i + 1));
                self.bases[i] = u64::from(x) | (u64::from(y) << 32);
                i += 1;
            }
            i += 1;
        }
        let reg = match header {
            0 => Some(0x30),
            1 => Some(0x38),
            _ => None,
        };
        if let Some(reg) = reg {
            let u = self.cfg.l(reg);
            if u != 0xffff_ffff {
                self.rom = u64::from(u);
            }
        }
    }

    fn b(&self, pos: usize) -> u32 {
        u32::from(self.cfg.b(pos))
    }

    fn w(&self, pos: usize) -> u32 {
        u32::from(self.cfg.w(pos))
    }

    fn l(&self, pos: usize) -> u32 {
        self.cfg.l(pos)
    }
}

/// The SSVID capability of a bridge, found as libpci finds capabilities.
fn ssvid(cfg: &Cfg) -> Option<usize> {
    if cfg.w(6) & 0x10 == 0 {
        return None;
    }
    let mut seen = [false; 256];
    let mut at = usize::from(cfg.b(0x34) & !3);
    while at != 0 {
        if std::mem::replace(&mut seen[at], true) {
            return None;
        }
        let id = cfg.b(at);
        if id == 0xff {
            return None;
        }
        if id == 0x0d {
            return Some(at);
        }
        at = usize::from(cfg.b(at + 1) & !3);
    }
    None
}

/// ` [size=4K]`, as lspci's `show_size` (nothing for 0).
fn size_text(mut x: u64) -> String {
    const SUFFIX: [&str; 5] = ["", "K", "M", "G", "T"];
    if x == 0 {
        return String::new();
    }
    let mut i = 0;
    while i < SUFFIX.len() - 1 && x % 1024 == 0 {
        x /= 1024;
        i += 1;
    }
    // lspci prints it as an unsigned int.
    format!(" [size={}{}]", x as u32, SUFFIX[i])
}

/// Print one device as lspci does with `opt`.
pub fn show(f: &Function, opt: &ShowOptions) -> Shown {
    let d = Dev::new(f);
    let mut s = Shown::default();
    let mut out = Lines::default();
    if opt.verbosity > 0 {
        verbose(&d, opt, &mut out, &mut s.blocks);
    } else {
        terse(&d, opt, &mut out);
    }
    if opt.kernel || opt.verbosity > 0 {
        kernel(&d, &mut out);
    }
    if opt.hex > 0 {
        hex_dump(&d, opt.hex, &mut out);
    }
    if opt.verbosity > 0 || opt.hex > 0 {
        out.put("\n");
    }
    s.lines = out.finish();
    s
}

/// Text written as lspci writes it (a line may come in pieces), cut into lines.
#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    fn put(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn finish(self) -> Vec<String> {
        let mut lines: Vec<String> = self.text.split('\n').map(str::to_string).collect();
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }
}

macro_rules! p {
    ($o:expr, $($arg:tt)*) => {{
        let text = format!($($arg)*);
        $o.put(&text);
    }};
}

fn terse(d: &Dev, opt: &ShowOptions, o: &mut Lines) {
    let class16 = (d.class >> 8) as u16;
    p!(
        o,
        "{} {}: {}",
        d.f.slot_name(opt.domain),
        opt.ids.class_text(class16, opt.numeric),
        opt.ids.vendor_device(d.vendor, d.device_id, opt.numeric)
    );
    if d.revision != 0 {
        p!(o, " (rev {:02x})", d.revision);
    }
    if opt.verbosity > 0 {
        let c = d.class as u8;
        let name = opt.ids.prog_if(class16, c);
        if c != 0 || name.is_some() {
            p!(o, " (prog-if {c:02x}");
            if let Some(n) = name {
                p!(o, " [{n}]");
            }
            p!(o, ")");
        }
    }
    p!(o, "\n");
    if opt.verbosity > 0 || opt.kernel {
        if let Some(label) = &d.f.facts.label {
            // lspci prints no newline after it.
            p!(o, "\tDeviceName: {label}");
        }
        if let Some((sv, sd)) = d.subsystem.filter(|(sv, _)| *sv != 0 && *sv != 0xffff) {
            p!(o, "\tSubsystem: {}\n", opt.ids.subsystem_text(d.vendor, d.device_id, sv, sd, opt.numeric));
        }
    }
}

fn devsel(status: u32) -> &'static str {
    match status & 0x600 {
        0x400 => "slow",
        0x200 => "medium",
        0x000 => "fast",
        _ => "??",
    }
}

fn verbose(d: &Dev, opt: &ShowOptions, o: &mut Lines, blocks: &mut Vec<Block>) {
    terse(d, opt, o);
    let htype = if d.no_config { 0xff } else { u32::from(d.cfg.header_type()) };
    let class16 = d.class >> 8;
    let mut unknown = false;
    let (bist, max_lat, min_gnt) = match htype {
        0 => {
            if class16 == 0x0604 {
                p!(o, "\t!!! Invalid class {class16:04x} for header type {htype:02x}\n");
            }
            (d.b(0x0f), d.b(0x3f), d.b(0x3e))
        }
        1 | 2 => {
            if class16 >> 8 != 0x06 {
                p!(o, "\t!!! Invalid class {class16:04x} for header type {htype:02x}\n");
            }
            (d.b(0x0f), 0, 0)
        }
        _ => {
            if !d.no_config {
                p!(o, "\t!!! Unknown header type {htype:02x}\n");
            }
            unknown = true;
            (0, 0, 0)
        }
    };
    if let Some(slot) = &d.f.facts.physical_slot {
        p!(o, "\tPhysical Slot: {slot}\n");
    }
    if !unknown && opt.verbosity > 1 {
        let cmd = d.w(4);
        let status = d.w(6);
        p!(
            o,
            "\tControl: I/O{} Mem{} BusMaster{} SpecCycle{} MemWINV{} VGASnoop{} ParErr{} Stepping{} SERR{} FastB2B{} DisINTx{}\n",
            flag(cmd, 0x1),
            flag(cmd, 0x2),
            flag(cmd, 0x4),
            flag(cmd, 0x8),
            flag(cmd, 0x10),
            flag(cmd, 0x20),
            flag(cmd, 0x40),
            flag(cmd, 0x80),
            flag(cmd, 0x100),
            flag(cmd, 0x200),
            flag(cmd, 0x400)
        );
        p!(
            o,
            "\tStatus: Cap{} 66MHz{} UDF{} FastB2B{} ParErr{} DEVSEL={} >TAbort{} <TAbort{} <MAbort{} >SERR{} <PERR{} INTx{}\n",
            flag(status, 0x10),
            flag(status, 0x20),
            flag(status, 0x40),
            flag(status, 0x80),
            flag(status, 0x100),
            devsel(status),
            flag(status, 0x800),
            flag(status, 0x1000),
            flag(status, 0x2000),
            flag(status, 0x4000),
            flag(status, 0x8000),
            flag(status, 0x8)
        );
        if cmd & 0x4 != 0 {
            let latency = d.b(0x0d);
            let cache_line = d.b(0x0c);
            p!(o, "\tLatency: {latency}");
            if min_gnt != 0 || max_lat != 0 {
                p!(o, " (");
                if min_gnt != 0 {
                    p!(o, "{}ns min", min_gnt * 250);
                }
                if min_gnt != 0 && max_lat != 0 {
                    p!(o, ", ");
                }
                if max_lat != 0 {
                    p!(o, "{}ns max", max_lat * 250);
                }
                p!(o, ")");
            }
            if cache_line != 0 {
                p!(o, ", Cache Line Size: {} bytes", cache_line * 4);
            }
            p!(o, "\n");
        }
    }
    if opt.verbosity > 1 {
        let pin = if unknown { 0 } else { d.b(0x3d) };
        if pin != 0 || d.irq != 0 {
            let name = if pin != 0 { char::from((b'A').wrapping_add((pin as u8).wrapping_sub(1))) } else { '?' };
            p!(o, "\tInterrupt: pin {name} routed to IRQ {}\n", d.irq as i32);
        }
        if let Some(node) = d.f.facts.numa_node.filter(|n| *n != -1) {
            p!(o, "\tNUMA node: {node}\n");
        }
        if let Some(group) = &d.f.facts.iommu_group {
            p!(o, "\tIOMMU group: {group}\n");
        }
    }
    if !unknown && opt.verbosity <= 1 {
        let cmd = d.w(4);
        let status = d.w(6);
        p!(o, "\tFlags: ");
        for (value, mask, text) in [
            (cmd, 0x4, "bus master, "),
            (cmd, 0x20, "VGA palette snoop, "),
            (cmd, 0x80, "stepping, "),
            (cmd, 0x200, "fast Back2Back, "),
            (status, 0x20, "66MHz, "),
            (status, 0x40, "user-definable features, "),
        ] {
            if value & mask != 0 {
                p!(o, "{text}");
            }
        }
        p!(o, "{} devsel", devsel(status));
        if cmd & 0x4 != 0 {
            p!(o, ", latency {}", d.b(0x0d));
        }
        if d.irq != 0 {
            p!(o, ", IRQ {}", d.irq as i32);
        }
        if let Some(node) = d.f.facts.numa_node.filter(|n| *n != -1) {
            p!(o, ", NUMA node {node}");
        }
        if let Some(group) = &d.f.facts.iommu_group {
            p!(o, ", IOMMU group {group}");
        }
        p!(o, "\n");
    }
    if bist & 0x80 != 0 {
        if bist & 0x40 != 0 {
            p!(o, "\tBIST is running\n");
        } else {
            p!(o, "\tBIST result: {:02x}\n", bist & 0x0f);
        }
    }
    let caps = |o: &mut Lines, blocks: &mut Vec<Block>| {
        let options = Options {
            verbosity: opt.verbosity,
            ids: Some(opt.ids),
            device: d.f.device,
            function: d.f.function,
            vpd: opt.vpd,
            memory_bar: d.f.facts.resources.as_ref().map(Resources::has_memory_bar),
            numeric: opt.numeric,
        };
        // lspci reads what it was not given as all-ones: the decoder has the bytes read.
        let found = decode(d.f.config, &options);
        for b in &found {
            for line in &b.lines {
                p!(o, "{line}\n");
            }
        }
        blocks.extend(found);
    };
    match htype {
        0 => {
            bases(d, opt, o, 6, false);
            rom(d, o, Some(0x30));
            caps(o, blocks);
        }
        1 => {
            bridge(d, opt, o);
            caps(o, blocks);
        }
        2 => {
            if cardbus(d, opt, o) {
                caps(o, blocks);
            }
        }
        _ => unknown_header(d, opt, o),
    }
}

fn bases(d: &Dev, opt: &ShowOptions, o: &mut Lines, count: usize, without_config: bool) {
    let cmd = if without_config { 0x3 } else { d.w(4) };
    for i in 0..count {
        let pos = d.bases[i];
        let len = d.sizes.map_or(0, |s| s[i]);
        let ioflg = d.io_flags.map_or(0, |f| f[i]);
        let mut flg = match (d.io_flags, without_config) {
            (Some(_), _) => pci_flags(ioflg),
            (None, true) => 0,
            (None, false) => d.l(0x10 + 4 * i),
        };
        if flg == 0xffff_ffff {
            flg = 0;
        }
        if pos == 0 && flg == 0 && len == 0 {
            continue;
        }
        if opt.verbosity > 1 {
            p!(o, "\tRegion {i}: ");
        } else {
            p!(o, "\t");
        }
        let (mut hw_lower, mut hw_upper, mut broken, mut virtual_) = (0u32, 0u32, false, false);
        if d.io_flags.is_some() && !without_config {
            hw_lower = d.l(0x10 + 4 * i);
            if hw_lower & 1 == pci_flags(ioflg) & 1 {
                if ioflg & IORESOURCE_TYPE_BITS == IORESOURCE_MEM && hw_lower & 6 == 4 {
                    if i + 1 >= count {
                        broken = true;
                    } else {
                        // lspci reads the upper half one byte further than the BAR.
                        hw_upper = d.l(0x10 + 4 * i + 1);
                    }
                }
                if pos != 0 && hw_lower == 0 && hw_upper == 0 && ioflg & IORESOURCE_EA_BEI == 0 {
                    virtual_ = true;
                }
            }
        }
        if flg & 1 != 0 {
            let a = pos & !3;
            p!(o, "I/O ports at ");
            if a != 0 || cmd & 1 != 0 {
                p!(o, "{a:04x}");
            } else if hw_lower != 0 {
                p!(o, "<ignored>");
            } else {
                p!(o, "<unassigned>");
            }
            if virtual_ {
                p!(o, " [virtual]");
            } else if cmd & 1 == 0 {
                p!(o, " [disabled]");
            }
        } else {
            let t = flg & 6;
            let a = pos & !0xf;
            p!(o, "Memory at ");
            if broken {
                p!(o, "<broken-64-bit-slot>");
            } else if a != 0 {
                p!(o, "{a:08x}");
            } else if hw_lower != 0 || hw_upper != 0 {
                p!(o, "<ignored>");
            } else {
                p!(o, "<unassigned>");
            }
            let kind = match t {
                0 => "32-bit",
                4 => "64-bit",
                2 => "low-1M",
                _ => "type 3",
            };
            p!(o, " ({kind}, {}prefetchable)", if flg & 8 != 0 { "" } else { "non-" });
            if virtual_ {
                p!(o, " [virtual]");
            } else if cmd & 2 == 0 {
                p!(o, " [disabled]");
            }
        }
        if ioflg & IORESOURCE_EA_BEI != 0 {
            p!(o, " [enhanced]");
        }
        p!(o, "{}\n", size_text(len));
    }
}

fn rom(d: &Dev, o: &mut Lines, reg: Option<usize>) {
    const MASK: u64 = !0x7ff;
    let rom = d.rom;
    let len = d.rom_size.unwrap_or(0);
    let ioflg = d.rom_flags;
    let mut flg = match reg {
        Some(r) => u64::from(d.l(r)),
        None => u64::from(pci_flags(ioflg)),
    };
    let cmd = reg.map_or(2, |_| d.w(4));
    let mut virtual_ = false;
    if rom == 0 && flg == 0 && len == 0 {
        return;
    }
    if reg.is_some() && rom & MASK != 0 && flg & MASK == 0 && ioflg & IORESOURCE_EA_BEI == 0 {
        flg = rom;
        virtual_ = true;
    }
    p!(o, "\tExpansion ROM at ");
    if rom & MASK != 0 {
        p!(o, "{:08x}", rom & MASK);
    } else if flg & MASK != 0 {
        p!(o, "<ignored>");
    } else {
        p!(o, "<unassigned>");
    }
    if virtual_ {
        p!(o, " [virtual]");
    }
    if flg & 1 == 0 {
        p!(o, " [disabled]");
    } else if !virtual_ && cmd & 2 == 0 {
        p!(o, " [disabled by cmd]");
    }
    if ioflg & IORESOURCE_EA_BEI != 0 {
        p!(o, " [enhanced]");
    }
    p!(o, "{}\n", size_text(len));
}

fn range(o: &mut Lines, opt: &ShowOptions, prefix: &str, base: u64, limit: u64, bits: u32, disabled: bool) {
    p!(o, "{prefix}:");
    let digits = bits.div_ceil(4) as usize;
    if base <= limit || opt.verbosity > 2 {
        p!(o, " {base:0digits$x}-{limit:0digits$x}");
    }
    if !disabled && base <= limit {
        p!(o, "{}", size_text(limit.wrapping_sub(base).wrapping_add(1)));
    } else {
        p!(o, " [disabled]");
    }
    if bits != 0 {
        p!(o, " [{bits}-bit]");
    }
    p!(o, "\n");
}

fn bridge(d: &Dev, opt: &ShowOptions, o: &mut Lines) {
    let io_base = d.b(0x1c);
    let io_limit = d.b(0x1d);
    let io_type = io_base & 0xf;
    let mem_base = d.w(0x20);
    let mem_limit = d.w(0x22);
    let mem_type = mem_base & 0xf;
    let pref_base = d.w(0x24);
    let pref_limit = d.w(0x26);
    let pref_type = pref_base & 0xf;
    let sec = d.w(0x1e);
    let brc = d.w(0x3e);
    let windows = d.bridge;
    let disabled = |i: usize| windows.is_some_and(|w| w[i].size == 0);
    let (io_disabled, mem_disabled, pref_disabled) = (disabled(0), disabled(1), disabled(2));

    bases(d, opt, o, 2, false);
    p!(
        o,
        "\tBus: primary={:02x}, secondary={:02x}, subordinate={:02x}, sec-latency={}\n",
        d.b(0x18),
        d.b(0x19),
        d.b(0x1a),
        d.b(0x1b)
    );

    match windows.filter(|_| !io_disabled) {
        Some(w) => {
            let base = (w[0].start as u32) & !0xf;
            let limit = base.wrapping_add(w[0].size as u32).wrapping_sub(1);
            let bits = if w[0].start & 0xf == 1 { 32 } else { 16 };
            range(o, opt, "\tI/O behind bridge", u64::from(base), u64::from(limit), bits, io_disabled);
        }
        None if io_type != io_limit & 0xf || (io_type != 0 && io_type != 1) => {
            p!(o, "\t!!! Unknown I/O range types {io_base:x}/{io_limit:x}\n");
        }
        None => {
            let mut base = (io_base & !0xf) << 8;
            let mut limit = (io_limit & !0xf) << 8;
            if io_type == 1 {
                base |= d.w(0x30) << 16;
                limit |= d.w(0x32) << 16;
            }
            if !(base == 0 && limit == 0 && io_disabled) {
                let limit = limit.wrapping_add(0xfff);
                let bits = if io_type == 1 { 32 } else { 16 };
                range(o, opt, "\tI/O behind bridge", u64::from(base), u64::from(limit), bits, io_disabled);
            }
        }
    }

    match windows.filter(|_| !mem_disabled) {
        Some(w) => {
            let base = (w[1].start as u32) & !0xf;
            let limit = base.wrapping_add(w[1].size as u32).wrapping_sub(1);
            range(o, opt, "\tMemory behind bridge", u64::from(base), u64::from(limit), 32, mem_disabled);
        }
        None if mem_type != mem_limit & 0xf || mem_type != 0 => {
            p!(o, "\t!!! Unknown memory range types {mem_base:x}/{mem_limit:x}\n");
        }
        None => {
            let base = (mem_base & !0xf) << 16;
            let limit = (mem_limit & !0xf) << 16;
            range(
                o,
                opt,
                "\tMemory behind bridge",
                u64::from(base),
                u64::from(limit.wrapping_add(0xfffff)),
                32,
                mem_disabled,
            );
        }
    }

    match windows.filter(|_| !pref_disabled) {
        Some(w) => {
            let base = w[2].start & !0xf;
            let limit = base.wrapping_add(w[2].size).wrapping_sub(1);
            let bits = if w[2].start & 0xf == 1 { 64 } else { 32 };
            range(o, opt, "\tPrefetchable memory behind bridge", base, limit, bits, pref_disabled);
        }
        None if pref_type != pref_limit & 0xf || (pref_type != 0 && pref_type != 1) => {
            p!(o, "\t!!! Unknown prefetchable memory range types {pref_base:x}/{pref_limit:x}\n");
        }
        None => {
            let mut base = u64::from((pref_base & !0xf) << 16);
            let mut limit = u64::from((pref_limit & !0xf) << 16);
            if pref_type == 1 {
                base |= u64::from(d.l(0x28)) << 32;
                limit |= u64::from(d.l(0x2c)) << 32;
            }
            if !(base == 0 && limit == 0 && pref_disabled) {
                let limit = limit.wrapping_add(0xfffff);
                let bits = if pref_type == 1 { 64 } else { 32 };
                range(o, opt, "\tPrefetchable memory behind bridge", base, limit, bits, pref_disabled);
            }
        }
    }

    if opt.verbosity > 1 {
        p!(
            o,
            "\tSecondary status: 66MHz{} FastB2B{} ParErr{} DEVSEL={} >TAbort{} <TAbort{} <MAbort{} <SERR{} <PERR{}\n",
            flag(sec, 0x20),
            flag(sec, 0x80),
            flag(sec, 0x100),
            devsel(sec),
            flag(sec, 0x800),
            flag(sec, 0x1000),
            flag(sec, 0x2000),
            flag(sec, 0x4000),
            flag(sec, 0x8000)
        );
    }
    rom(d, o, Some(0x38));
    if opt.verbosity > 1 {
        p!(
            o,
            "\tBridgeCtl: Parity{} SERR{} NoISA{} VGA{} VGA16{} MAbort{} >Reset{} FastB2B{}\n",
            flag(brc, 0x1),
            flag(brc, 0x2),
            flag(brc, 0x4),
            flag(brc, 0x8),
            flag(brc, 0x10),
            flag(brc, 0x20),
            flag(brc, 0x40),
            flag(brc, 0x80)
        );
        p!(
            o,
            "\t\tPriDiscTmr{} SecDiscTmr{} DiscTmrStat{} DiscTmrSERREn{}\n",
            flag(brc, 0x100),
            flag(brc, 0x200),
            flag(brc, 0x400),
            flag(brc, 0x800)
        );
    }
}

/// A CardBus bridge's lines; whether lspci goes on to its capabilities.
fn cardbus(d: &Dev, opt: &ShowOptions, o: &mut Lines) -> bool {
    let cmd = d.w(4);
    let brc = d.w(0x3e);
    let verb = opt.verbosity > 2;
    bases(d, opt, o, 1, false);
    p!(
        o,
        "\tBus: primary={:02x}, secondary={:02x}, subordinate={:02x}, sec-latency={}\n",
        d.b(0x18),
        d.b(0x19),
        d.b(0x1a),
        d.b(0x1b)
    );
    for i in 0..2 {
        let base = d.l(0x1c + 8 * i);
        let limit = d.l(0x20 + 8 * i).wrapping_add(0xfff);
        if base <= limit || verb {
            p!(
                o,
                "\tMemory window {i}: {base:08x}-{limit:08x}{}{}\n",
                if cmd & 2 != 0 { "" } else { " [disabled]" },
                if brc & (0x100 << i) != 0 { " (prefetchable)" } else { "" }
            );
        }
    }
    for i in 0..2 {
        let mut base = d.l(0x2c + 8 * i);
        let mut limit = d.l(0x30 + 8 * i);
        if base & 1 == 0 {
            base &= 0xffff;
            limit &= 0xffff;
        }
        base &= !3;
        limit = (limit & !3).wrapping_add(3);
        if base <= limit || verb {
            p!(o, "\tI/O window {i}: {base:08x}-{limit:08x}{}\n", if cmd & 1 != 0 { "" } else { " [disabled]" });
        }
    }
    if d.w(0x16) & 0x4000 != 0 {
        p!(o, "\tSecondary status: SERR\n");
    }
    if opt.verbosity > 1 {
        p!(
            o,
            "\tBridgeCtl: Parity{} SERR{} ISA{} VGA{} MAbort{} >Reset{} 16bInt{} PostWrite{}\n",
            flag(brc, 0x1),
            flag(brc, 0x2),
            flag(brc, 0x4),
            flag(brc, 0x8),
            flag(brc, 0x20),
            flag(brc, 0x40),
            flag(brc, 0x80),
            flag(brc, 0x400)
        );
    }
    if d.cached < 128 {
        p!(o, "\t<access denied to the rest>\n");
        return false;
    }
    let exca = d.w(0x44);
    if exca != 0 {
        p!(o, "\t16-bit legacy interface ports at {exca:04x}\n");
    }
    true
}

/// A header type lspci does not know: what the kernel reports.
fn unknown_header(d: &Dev, opt: &ShowOptions, o: &mut Lines) {
    bases(d, opt, o, 6, true);
    if let Some(w) = d.bridge {
        for r in w.iter().filter(|r| r.start != 0) {
            let (bits, prefix) = if r.flags & IORESOURCE_IO != 0 {
                (if r.flags & 1 != 0 { 16 } else { 32 }, "\tI/O behind bridge")
            } else if r.flags & IORESOURCE_MEM != 0 {
                let bits = if r.flags & IORESOURCE_MEM_64 != 0 { 64 } else { 32 };
                if r.flags & IORESOURCE_PREFETCH != 0 {
                    (bits, "\tPrefetchable memory behind bridge")
                } else {
                    (bits, "\tMemory behind bridge")
                }
            } else {
                (0, "\tUnknown resource behind bridge")
            };
            range(o, opt, prefix, r.start, r.start.wrapping_add(r.size).wrapping_sub(1), bits, false);
        }
    }
    rom(d, o, None);
}

fn kernel(d: &Dev, o: &mut Lines) {
    if let Some(driver) = &d.f.facts.driver {
        p!(o, "\tKernel driver in use: {driver}\n");
    }
    let mut previous: Option<&str> = None;
    let mut count = 0;
    for m in &d.f.facts.modules {
        if previous == Some(m.as_str()) {
            continue;
        }
        previous = Some(m);
        p!(o, "{} {m}", if count > 0 { "," } else { "\tKernel modules:" });
        count += 1;
    }
    if count > 0 {
        p!(o, "\n");
    }
}

fn hex_dump(d: &Dev, hex: u8, o: &mut Lines) {
    if d.no_config {
        p!(o, "WARNING: Cannot show hex-dump of the config space\n");
        return;
    }
    let mut count = d.cached;
    if hex >= 3 && d.cfg.has(count, 256 - count) {
        count = 256;
        if hex >= 4 && d.cfg.has(256, 4096 - 256) {
            count = 4096;
        }
    }
    for i in 0..count {
        if i & 15 == 0 {
            p!(o, "{i:02x}:");
        }
        p!(o, " {:02x}", d.cfg.b(i));
        if i & 15 == 15 {
            p!(o, "\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_lspci() {
        assert_eq!(size_text(0), "");
        assert_eq!(size_text(256), " [size=256]");
        assert_eq!(size_text(4096), " [size=4K]");
        assert_eq!(size_text(1 << 20), " [size=1M]");
        assert_eq!(size_text(1 << 50), " [size=1024T]");
    }

    #[test]
    fn resources_with_and_without_bridge_windows() {
        let mut lines = vec![(0u64, 0u64, 0u64); 13];
        lines[0] = (0xfe00_0000, 0xfe00_0fff, 0x40200);
        let r = Resources::from_lines(&lines);
        assert!(r.bridge.is_none());
        assert_eq!(r.bars[0].size, 0x1000);
        assert!(r.has_memory_bar());
        lines.extend([(0x1000, 0x1fff, 0x101), (0, 0, 0), (0, 0, 0), (0, 0, 0)]);
        let r = Resources::from_lines(&lines);
        assert_eq!(r.bridge.map(|b| b[0].start), Some(0x1000));
    }

    #[test]
    fn any_bytes_print_without_panic() {
        let ids = PciIds::default();
        for len in [0usize, 3, 64, 100, 128, 256, 4096] {
            for fill in [0u8, 0xff, 0x5a] {
                for header in [0u8, 1, 2, 0x7f] {
                    let mut config = vec![fill; len];
                    if len > 0x0e {
                        config[0x0e] = header;
                    }
                    let facts = Facts::default();
                    let f = Function { domain: 0xffff, bus: 0, device: 1, function: 0, config: &config, facts: &facts };
                    for verbosity in 0..=3 {
                        for hex in [0, 1, 3, 4] {
                            let opt = ShowOptions {
                                verbosity,
                                numeric: Numeric::Both,
                                kernel: true,
                                hex,
                                domain: true,
                                ids: &ids,
                                vpd: None,
                            };
                            let s = show(&f, &opt);
                            assert!(s.lines[0].starts_with("ffff:00:01.0 "));
                        }
                    }
                }
            }
        }
    }
}
