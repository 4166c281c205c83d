//! `bind`, `bind --restore` and `unbind`.

use mmiodrv::error::Result;
use mmiodrv::pci::binding::{self, Outcome};

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::context::{resolve_device, stoppable};
use crate::output::print_json;

/// Print the outcome; a signal that arrived during the steps (which run to
/// the end or roll back, never stop half-way) makes the exit status say so.
fn report(g: &Global, op: &str, o: &Outcome) -> Result<()> {
    print(g, op, o);
    match mmiodrv::stop::requested() {
        Some(stop) => Err(stop.error(format!(
            "the {} completed first ({} is bound to {})",
            if o.current.is_some() { "bind" } else { "unbind" },
            o.device,
            o.current.as_deref().unwrap_or("no driver")
        ))),
        None => Ok(()),
    }
}

fn print(g: &Global, op: &str, o: &Outcome) {
    if g.json {
        print_json(op, o);
    } else {
        outln!(
            "{}: {} -> {}",
            o.device,
            o.previous.as_deref().unwrap_or("no driver"),
            o.current.as_deref().unwrap_or("no driver")
        );
    }
}

pub fn bind(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    stoppable()?;
    let dev = resolve_device(&g)?;
    let outcome = match (call.args.opt_text("DRIVER"), call.args.flag("restore")) {
        (_, true) => binding::restore(&dev, g.force)?,
        (Some(d), false) => binding::bind(&dev, d, g.force)?,
        (None, false) => {
            return Err(mmiodrv::Error::invalid("", "name a driver (vfio-pci or uio_pci_generic) or pass --restore"))
        }
    };
    report(&g, call.path, &outcome)
}

pub fn unbind(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    stoppable()?;
    let dev = resolve_device(&g)?;
    let outcome = binding::unbind(&dev, g.force)?;
    report(&g, call.path, &outcome)
}
