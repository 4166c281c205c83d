//! `mmiodrv config`: raw config space of every selected device as
//! `lspci -xxxx` prints it, and `config read|write TARGET` for a register or
//! field by name (`EXP.LNKSTA.CLS`) or setpci's address (`CAP_MSI+2.w`),
//! run by the one executor on the config window (`--bar config`).

use mmiodrv::command::{Call, Collect, Frontend};
use mmiodrv::device::Device;
use mmiodrv::error::{DeviceRef, Error, ErrorClass, Result};
use mmiodrv::mmio::Width;
use mmiodrv::outcome::Outcome;
use mmiodrv::pci::config_map::CONFIG_BAR;
use mmiodrv::pci::config_target::ConfigTarget;
use mmiodrv::pci::ids::{Numeric, PciIds};
use mmiodrv::pci::lspci::show::{show, ShowOptions};
use mmiodrv::pci::report::{any_domain, inspect, Gather, Inspected};
use mmiodrv::session::{At, Op, Session, SessionOptions};
use mmiodrv::window::AccessReport;

use crate::cli::Global;
use crate::context::{devices, nothing_named, open_inspected, selection, Devices};
use crate::output::print_json;
use crate::output::render::{self, Hex, Style};

/// `VALUE` or `VALUE:MASK` (setpci's form), each through the library's parser.
#[derive(Clone, Copy, Debug)]
pub struct ValueMask {
    pub value: u64,
    pub mask: Option<u64>,
}

impl ValueMask {
    pub fn parse(s: &str) -> Result<ValueMask> {
        let (v, m) = match s.split_once(':') {
            Some((v, m)) => (v, Some(m)),
            None => (s, None),
        };
        let number = mmiodrv::value::parse_u64;
        Ok(ValueMask { value: number(v)?, mask: m.map(number).transpose()? })
    }
}

/// The grammar's check of `VALUE[:MASK]`.
pub fn check_value_mask(s: &str) -> Result<()> {
    ValueMask::parse(s).map(drop)
}

/// `config --json`: one device's config space.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConfigBytes {
    /// The device (`0000:00:04.0`).
    pub device: String,
    /// Bytes read: 256, or 4096 with extended config space (64 without root).
    pub len: usize,
    /// The bytes in hex, two digits each.
    pub hex: String,
}

/// `config`: every selected device's config space as `lspci -xxxx` prints it.
pub fn dump(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let devices = devices(&g)?;
    let source = devices.source();
    let found = inspect(&source, &selection(&g)?, Gather { config: true, facts: true, ..Gather::default() })?;
    nothing_named(&g, found.len())?;
    let ids = PciIds::load();
    let domain = any_domain(&source)?;
    for f in &found {
        if g.json {
            let hex = f.config.iter().map(|b| format!("{b:02x}")).collect();
            print_json(call.path, &ConfigBytes { device: f.name(), len: f.config.len(), hex });
            continue;
        }
        let opt =
            ShowOptions { verbosity: 0, numeric: Numeric::Names, kernel: false, hex: 4, domain, ids: &ids, vpd: None };
        for line in show(&f.function(), &opt).lines {
            outln!("{line}");
        }
    }
    Ok(())
}

/// Results of the executor shown as this command's: text as the operation
/// prints it, JSON objects under this command's `op`.
struct AsCommand<'a> {
    op: &'a str,
    style: Style,
}

impl Frontend for AsCommand<'_> {
    fn emit(&mut self, outcome: Outcome) {
        match (&outcome, self.style.json) {
            (Outcome::Read(a) | Outcome::Write(a), true) => print_json(self.op, a),
            _ => render::outcome(&outcome, self.style),
        }
    }
}

/// The target on one opened device: its config map (the session's config
/// layout) and the place setpci's syntax names.
fn target(session: &Session<'_>, device: &Device, text: &str) -> Result<At> {
    let layout = session.layout(Some(CONFIG_BAR))?;
    let map = layout.map().ok_or_else(|| Error::invalid(text, "no config register map"))?;
    let config = device.backend().read_config()?;
    let t = ConfigTarget::resolve(text, &config, map).map_err(|e| e.with_device(device.device()))?;
    Ok(At { target: t.target, width: t.width, bar: Some(CONFIG_BAR) })
}

/// `config read TARGET` on every selected device (all without `-s`/`-d`):
/// one read each through the executor. With several devices, those that
/// lack the target are passed over (an error only when none has it).
pub fn read(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let (text, quiet) = (call.args.text("TARGET")?.to_string(), call.args.flag("quiet"));
    let devices = devices(&g)?;
    let found = inspect(&devices.source(), &selection(&g)?, Gather { config: true, ..Gather::default() })?;
    nothing_named(&g, found.len())?;
    let several = found.len() > 1;
    let mut first_missing: Option<Error> = None;
    let mut read_any = false;
    for f in &found {
        match read_one(&g, &devices, f, &text, call.path, quiet) {
            Ok(()) => read_any = true,
            Err(e) if several && e.class() == ErrorClass::NotFound => {
                first_missing.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    match first_missing {
        Some(e) if !read_any => Err(e),
        _ => Ok(()),
    }
}

fn read_one(g: &Global, devices: &Devices, f: &Inspected, text: &str, op: &str, quiet: bool) -> Result<()> {
    let device = open_inspected(g, devices, f, false)?;
    let session = Session::new(&device, SessionOptions::default());
    let at = target(&session, &device, text)?;
    let mut out = AsCommand { op, style: Style { json: g.json, quiet, wait_irq: false } };
    session.execute(Op::Read(at), &mut out)
}

/// `config write --json`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConfigWrite {
    /// The device.
    pub device: DeviceRef,
    /// The target as given (`COMMAND.BUS_MASTER`, `CAP_MSI+2.w`).
    pub target: String,
    /// Offset of its register in config space.
    pub offset: u64,
    /// Width of the access.
    pub width: Width,
    /// The register, when it has a name in the config map.
    pub register: Option<String>,
    /// The field, for `NAME.FIELD`.
    pub field: Option<String>,
    /// The value given (the field's, for `NAME.FIELD`).
    pub value: u64,
    /// The mask given (`VALUE:MASK`), if any.
    pub mask: Option<u64>,
    /// The register before.
    pub old: u64,
    /// The register after (read back; what would be, with `--dry-run`).
    pub new: u64,
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
}

/// The one read of a target through the executor.
fn read_access(session: &Session<'_>, at: &At) -> Result<AccessReport> {
    let mut got = Collect::default();
    session.execute(Op::Read(at.clone()), &mut got)?;
    match got.0.pop() {
        Some(Outcome::Read(a)) => Ok(a),
        _ => Err(Error::invalid(at.target.clone(), "the read gave no value")),
    }
}

/// `config write TARGET VALUE[:MASK]` on the one selected device, through
/// the executor: a register or field write (a field's is a read-modify-write
/// at its register's width), a masked one read first.
pub fn write(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let (text, dry_run, quiet) =
        (call.args.text("TARGET")?.to_string(), call.args.flag("dry-run"), call.args.flag("quiet"));
    // The value was checked by the parser: a typo never reaches the device.
    let ValueMask { value, mask } = ValueMask::parse(call.args.text("VALUE")?)?;
    let devices = devices(&g)?;
    let filter = selection(&g)?;
    if filter.is_empty() {
        return Err(mmiodrv::ErrorKind::MissingDevice.into());
    }
    let mut found = inspect(&devices.source(), &filter, Gather { config: true, ..Gather::default() })?;
    let f = match found.len() {
        0 => return Err(mmiodrv::error::PciError::DeviceNotFound { selector: selector_text(&g) }.into()),
        1 => found.remove(0),
        _ => {
            return Err(mmiodrv::error::PciError::AmbiguousDevice {
                selector: selector_text(&g),
                matches: found.iter().filter_map(Inspected::address).collect(),
            }
            .into())
        }
    };
    let device = open_inspected(&g, &devices, &f, true)?;
    let session = Session::new(&device, SessionOptions::default());
    let at = target(&session, &device, &text)?;
    let before = read_access(&session, &at)?;
    let width = Width::from_bits(before.width).unwrap_or(Width::W32);
    let target_new = match mask {
        Some(m) => (before.value & !m) | (value & m),
        None => value,
    };
    // A field's register is shown whole, before and after (a write-1-to-clear
    // register after the write shows what the write did).
    let register = match (&before.field, &before.register) {
        (Some(_), Some(r)) => Some(At { target: r.to_string(), width: None, bar: Some(CONFIG_BAR) }),
        _ => None,
    };
    let old = match &register {
        Some(r) => read_access(&session, r)?.value,
        None => before.value,
    };
    if !dry_run {
        let write =
            Op::Write { at: at.clone(), value: mmiodrv::value::Operand::Number(target_new), verify: false, irq: None };
        session.execute(write, &mut Collect::default())?;
    }
    let new = match (&register, dry_run) {
        (Some(r), false) => read_access(&session, r)?.value,
        (Some(_), true) => {
            let layout = session.layout(Some(CONFIG_BAR))?;
            let t = layout.resolve(&at.target, None)?;
            match t.target {
                mmiodrv::regmap::Target::Field(_, f) => f.insert(old, target_new)?,
                _ => target_new,
            }
        }
        (None, _) => target_new,
    };
    let field = before.field.as_ref().map(|f| f.to_string());
    if g.json {
        let report = ConfigWrite {
            device: device.device(),
            target: text,
            offset: before.offset,
            width,
            register: before.register.as_ref().map(|r| r.to_string()),
            field,
            value,
            mask,
            old,
            new,
            dry_run,
        };
        print_json(call.path, &report);
        return Ok(());
    }
    let digits = if field.is_some() { None } else { Some(width) };
    if quiet {
        outln!("{}", Hex(new, Some(width)));
        return Ok(());
    }
    let name = match (&before.register, &before.field) {
        (Some(r), Some(f)) => format!("{r}.{f}"),
        (Some(r), None) => r.to_string(),
        _ => text.clone(),
    };
    let masked = mask.map(|m| format!(":{}", Hex(m, digits))).unwrap_or_default();
    let note = if dry_run { " (dry run: nothing written)" } else { "" };
    outln!(
        "{} config {:#06x} {name} <- {}{masked} ({} -> {}){note}",
        device.device(),
        before.offset,
        Hex(value, digits),
        Hex(old, Some(width)),
        Hex(new, Some(width))
    );
    Ok(())
}

/// The selection as given, for messages.
fn selector_text(g: &Global) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &g.device {
        parts.push(d.clone());
    }
    if let Some(s) = &g.slot {
        parts.push(format!("-s {s}"));
    }
    if let Some(i) = &g.ids {
        parts.push(format!("-d {i}"));
    }
    parts.join(" ")
}
