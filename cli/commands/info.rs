//! `mmiodrv info`: every selected device as lspci prints it (`-v`, `-vv`,
//! `-vvv`, default `-vvv`; `-k`, `-n`/`-nn`, `-x`..`-xxxx`, `-D`), from this
//! machine or from a dump (`-F`); with `--json`, one object per device with
//! lspci's lines, every capability's named values and every register of
//! the config register map.

use mmiodrv::command::Call;
use mmiodrv::error::Result;
use mmiodrv::pci::ids::PciIds;
use mmiodrv::pci::report::{any_domain, inspect, report, Gather, InfoOptions};

use crate::cli::Global;
use crate::context::{devices, nothing_named, selection};
use crate::output::print_json;

/// lspci's options of `info`, from the arguments.
pub fn options(call: &Call<'_>, g: &Global, domain: bool) -> InfoOptions {
    InfoOptions {
        // Without -v, info decodes everything: lspci -vvv.
        verbosity: if g.verbose == 0 { 3 } else { g.verbose.min(3) },
        numeric: call.args.count("numeric"),
        kernel: call.args.flag("kernel"),
        hex: call.args.count("hex"),
        domain: domain || call.args.flag("domains"),
    }
}

pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let devices = devices(&g)?;
    let source = devices.source();
    let filter = selection(&g)?;
    let opts = options(call, &g, any_domain(&source)?);
    let gather = Gather { config: true, facts: true, modules: true, vpd: opts.verbosity >= 3 };
    let found = inspect(&source, &filter, gather)?;
    // A device named with --device must exist; -s/-d select as lspci does
    // (nothing matching prints nothing).
    nothing_named(&g, found.len())?;
    let ids = PciIds::load();
    for f in &found {
        let r = report(f, &ids, &opts);
        if g.json {
            print_json(call.path, &r);
        } else {
            for line in &r.lines {
                outln!("{line}");
            }
        }
    }
    Ok(())
}
