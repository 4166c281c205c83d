//! `bind`, `bind --restore` and `unbind`.

use mmiodrv::error::Result;
use mmiodrv::pci::binding::{self, Outcome};

use crate::args::{BindArgs, Global};
use crate::context::resolve_device;
use crate::output::print_json;

fn report(g: &Global, o: &Outcome) {
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
    report(g, &outcome);
    Ok(())
}

pub fn unbind(g: &Global) -> Result<()> {
    let dev = resolve_device(g)?;
    let outcome = binding::unbind(&dev, g.force)?;
    report(g, &outcome);
    Ok(())
}
