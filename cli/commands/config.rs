//! `mmiodrv config`: raw config space as `lspci -xxx` prints it, and
//! `config read|write TARGET` for one register by name, as setpci.

use mmiodrv::error::{DeviceRef, Result};
use mmiodrv::mmio::Width;
use mmiodrv::pci::config_target::ConfigTarget;
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::report::title;

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::context::{open_device, open_for_inspection};
use crate::output::render::Hex;
use crate::output::{config_hex_lines, print_json};

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

/// `config`: the whole config space as `lspci -xxx` prints it.
pub fn dump(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let (_, dev) = open_for_inspection(&g)?;
    let config = dev.backend().read_config()?;
    let address = dev.address().map(|a| a.lspci()).unwrap_or_else(|| dev.device().to_string());
    if g.json {
        let hex = config.bytes().iter().map(|b| format!("{b:02x}")).collect();
        print_json(call.path, &ConfigBytes { device: dev.device(), len: config.len(), hex });
        return Ok(());
    }
    let ids = PciIds::load();
    outln!("{address} {}", title(&ids, &config));
    for line in config_hex_lines(config.bytes()) {
        outln!("{line}");
    }
    outln!();
    Ok(())
}

/// `0x04 COMMAND`, `0x042 CAP_MSI+2.w`, `0x04 COMMAND.BUS_MASTER`.
fn where_text(t: &ConfigTarget) -> String {
    let name = match (t.register, t.field) {
        (Some(r), Some(f)) => format!("{r}.{}", f.name),
        (Some(r), None) => r.to_string(),
        _ => t.text.clone(),
    };
    format!("{:#05x} {name}", t.offset)
}

/// A value as read/write print it: every digit of the width, or as few as
/// needed for a field.
fn shown(t: &ConfigTarget, v: u64) -> String {
    match t.field {
        Some(_) => Hex(v, None).to_string(),
        None => Hex(v, Some(t.width)).to_string(),
    }
}

fn fields_text(t: &ConfigTarget, register: u64) -> String {
    let Some(r) = t.register.and_then(|n| mmiodrv::pci::config_target::REGISTERS.iter().find(|r| r.name == n)) else {
        return String::new();
    };
    if t.field.is_some() || r.fields.is_empty() {
        return String::new();
    }
    let parts: Vec<String> =
        r.fields.iter().map(|f| format!("{}={:#x}", f.name, (register & f.mask()) >> f.lsb)).collect();
    format!("  {}", parts.join(" "))
}

/// `config --json`: the whole config space.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConfigBytes {
    /// The device.
    pub device: DeviceRef,
    /// Bytes read: 256, or 4096 with extended config space (fewer without root).
    pub len: usize,
    /// The bytes in hex, two digits each.
    pub hex: String,
}

/// Where `config read` and `config write` went.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConfigPlace<'a> {
    /// The device.
    pub device: DeviceRef,
    /// The target as given (`COMMAND.BUS_MASTER`, `CAP_MSI+2.w`).
    pub target: &'a str,
    /// Offset in config space.
    pub offset: u16,
    /// Width of the access.
    pub width: Width,
    /// The header register, when it has a name.
    pub register: Option<&'static str>,
    /// The field, for `NAME.FIELD`.
    pub field: Option<&'static str>,
}

impl<'a> ConfigPlace<'a> {
    fn of(device: DeviceRef, t: &'a ConfigTarget) -> Self {
        ConfigPlace {
            device,
            target: &t.text,
            offset: t.offset,
            width: t.width,
            register: t.register,
            field: t.field.map(|f| f.name),
        }
    }
}

/// `config read --json`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConfigRead<'a> {
    /// Where.
    #[serde(flatten)]
    pub place: ConfigPlace<'a>,
    /// The value read (the field's, for `NAME.FIELD`).
    pub value: u64,
}

/// `config write --json`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ConfigWrite<'a> {
    /// Where.
    #[serde(flatten)]
    pub place: ConfigPlace<'a>,
    /// The value given (the field's, for `NAME.FIELD`).
    pub value: u64,
    /// The mask given (`VALUE:MASK`), if any.
    pub mask: Option<u64>,
    /// The register before.
    pub old: u64,
    /// The register after (what was written, or would be).
    pub new: u64,
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
}

/// `config read TARGET`.
pub fn read(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let (target, quiet) = (call.args.text("TARGET")?, call.args.flag("quiet"));
    let (_, dev) = open_for_inspection(&g)?;
    let backend = dev.backend();
    let t = ConfigTarget::resolve(target, &backend.read_config()?).map_err(|e| e.with_device(dev.device()))?;
    let register = backend.read_config_at(t.offset, t.width)?;
    let value = t.extract(register);
    if g.json {
        print_json(call.path, &ConfigRead { place: ConfigPlace::of(dev.device(), &t), value });
    } else if quiet {
        outln!("{}", shown(&t, value));
    } else {
        outln!("{} config {} = {}{}", dev.device(), where_text(&t), shown(&t, value), fields_text(&t, register));
    }
    Ok(())
}

/// `config write TARGET VALUE[:MASK]`.
pub fn write(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let (target, dry_run, quiet) = (call.args.text("TARGET")?, call.args.flag("dry-run"), call.args.flag("quiet"));
    // The value was checked by the parser: a typo never reaches the device.
    let ValueMask { value, mask } = ValueMask::parse(call.args.text("VALUE")?)?;
    let dev = open_device(&g, None, None)?;
    let backend = dev.backend();
    let t = ConfigTarget::resolve(target, &backend.read_config()?).map_err(|e| e.with_device(dev.device()))?;
    let old = backend.read_config_at(t.offset, t.width)?;
    let new = t.merge(old, value, mask).map_err(|e| e.with_device(dev.device()))?;
    if !dry_run {
        backend.write_config_at(t.offset, t.width, new)?;
    }
    let width = t.width;
    if g.json {
        let place = ConfigPlace::of(dev.device(), &t);
        print_json(call.path, &ConfigWrite { place, value, mask, old, new, dry_run });
    } else if quiet {
        outln!("{}", Hex(new, Some(width)));
    } else {
        let masked = mask.map(|m| format!(":{}", shown(&t, m))).unwrap_or_default();
        let note = if dry_run { " (dry run: nothing written)" } else { "" };
        outln!(
            "{} config {} <- {}{masked} ({} -> {}){note}",
            dev.device(),
            where_text(&t),
            shown(&t, value),
            Hex(old, Some(width)),
            Hex(new, Some(width))
        );
    }
    Ok(())
}
