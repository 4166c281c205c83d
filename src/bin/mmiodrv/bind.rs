//! `bind`, `bind --restore` and `unbind`.

use mmiodrv::error::Result;
use mmiodrv::pci::binding::{self, Outcome};

use crate::args::{BindArgs, Global};
use crate::context::resolve_device;
use crate::output::print_json;

/// Print the outcome; a signal that arrived during the steps (which run to
/// the end or roll back, never stop half-way) makes the exit status say so.
fn report(g: &Global, o: &Outcome) -> Result<()> {
    print(g, o);
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

fn print(g: &Global, o: &Outcome) {
    if g.json {
        print_json(o);
    } else {
        outln!(
            "{}: {} -> {}",
            o.device,
            o.previous.as_deref().unwrap_or("no driver"),
            o.current.as_deref().unwrap_or("no driver")
        );
    }
}

pub fn bind(g: &Global, args: &BindArgs) -> Result<()> {
    let dev = resolve_device(g)?;
    let outcome = match (&args.driver, args.restore) {
        (_, true) => binding::restore(&dev, g.force)?,
        (Some(d), false) => binding::bind(&dev, d, g.force)?,
        (None, false) => {
            return Err(mmiodrv::Error::invalid("", "name a driver (vfio-pci or uio_pci_generic) or pass --restore"))
        }
    };
    report(g, &outcome)
}

pub fn unbind(g: &Global) -> Result<()> {
    let dev = resolve_device(g)?;
    let outcome = binding::unbind(&dev, g.force)?;
    report(g, &outcome)
}
