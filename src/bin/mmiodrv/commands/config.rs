//! `mmiodrv config`: raw config space as `lspci -xxx` prints it, and
//! `config read|write TARGET` for one register by name, as setpci.

use mmiodrv::error::Result;
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
        print_json(
            "config",
            &serde_json::json!({
                "device": dev.device(),
                "len": config.len(),
                "hex": config.bytes().iter().map(|b| format!("{b:02x}")).collect::<String>(),
            }),
        );
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

fn json_of(device: &mmiodrv::DeviceRef, t: &ConfigTarget) -> serde_json::Value {
    serde_json::json!({
        "device": device,
        "target": t.text,
        "offset": t.offset,
        "width": t.width.bits(),
        "register": t.register,
        "field": t.field.map(|f| f.name),
    })
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
        let mut v = json_of(&dev.device(), &t);
        v["value"] = value.into();
        print_json("config read", &v);
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
        let mut v = json_of(&dev.device(), &t);
        v["value"] = value.into();
        v["mask"] = mask.into();
        v["old"] = old.into();
        v["new"] = new.into();
        v["dry_run"] = dry_run.into();
        print_json("config write", &v);
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
