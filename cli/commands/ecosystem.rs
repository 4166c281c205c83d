//! Shell completions, man pages and the register-name helper the bash
//! completion calls, all from the one command tree.

use std::path::PathBuf;

use mmiodrv::command::Call;
use mmiodrv::device::DeviceSpec;
use mmiodrv::error::Result;
use mmiodrv::regmap::RegisterMap;

use crate::cli::{help, tree, Global};
use crate::context::{open_device, resolve_device, MapChoice};
use crate::output::print_json;

/// `completions SHELL`.
pub fn completions(call: &mut Call<'_>) -> Result<()> {
    outln!("{}", help::completions(tree(), call.args.text("SHELL")?));
    Ok(())
}

/// `man --json`: the pages written.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ManPages {
    /// Each page's path.
    pub pages: Vec<PathBuf>,
}

/// `json-schema`: the JSON Schema of every object `--json` prints (what
/// docs/json-schema.json holds), the program's commands' objects with the
/// library's and the drivers'.
pub fn json_schema(_call: &mut Call<'_>) -> Result<()> {
    let drivers = |r: &mut mmiodrv::schema::Results| {
        for d in mmiodrv::drivers::installed() {
            (d.results)(r);
        }
    };
    let doc = mmiodrv::schema::document(drivers, super::results);
    let text = serde_json::to_string_pretty(&doc).map_err(|e| mmiodrv::Error::invalid("", e.to_string()))?;
    outln!("{text}");
    Ok(())
}

/// `man --dir DIR`: mmiodrv.1 and one page per command.
pub fn man(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let dir = call.args.path("dir")?;
    let written = help::man_pages(tree(), dir)?;
    if g.json {
        print_json(call.path, &ManPages { pages: written });
    } else {
        outln!("{} man pages written to {}", written.len(), dir.display());
    }
    Ok(())
}

fn names(map: &RegisterMap) -> Vec<String> {
    let mut out = Vec::new();
    for r in map.registers.iter() {
        out.push(r.name.to_string());
        out.extend(r.fields.iter().map(|f| format!("{}.{}", r.name, f.name)));
    }
    out
}

/// The names `read`/`write` take on the selected device, one per line. The
/// device is not opened (a VFIO open would reset it): its built-in map is
/// found from its IDs, or the map is --regmap's, or a simulated device's.
pub fn complete_registers(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let choice = MapChoice::from_args(call.args);
    let bar = choice.bar;
    let map: Option<RegisterMap> = match choice.load()?.map {
        Some(placed) => Some(placed.map),
        None => match g.device.as_deref().map(DeviceSpec::parse).transpose()? {
            Some(DeviceSpec::Sim(_)) => {
                let dev = open_device(&g, None, choice.sim_block())?;
                dev.own_map(bar.unwrap_or(0)).cloned()
            }
            Some(DeviceSpec::Pci(_)) => {
                let dev = resolve_device(&g)?;
                mmiodrv::drivers::for_device(&dev).and_then(|d| match bar {
                    Some(bar) => d.map_for_bar(bar).cloned(),
                    None => d.maps.first().map(|m| (*m).clone()),
                })
            }
            _ => None,
        },
    };
    for name in map.as_ref().map(names).unwrap_or_default() {
        outln!("{name}");
    }
    Ok(())
}
