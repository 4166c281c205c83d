//! `bind`, `bind --restore` and `unbind`.

use mmiodrv::error::Result;
use mmiodrv::pci::binding::{self, Outcome};

use crate::args::{BindArgs, Cli};
use crate::context::resolve_device;
use crate::output::print_json;

fn report(cli: &Cli, o: &Outcome) {
    if cli.json {
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

pub fn bind(cli: &Cli, args: &BindArgs) -> Result<()> {
    let dev = resolve_device(cli)?;
    let outcome = match (&args.driver, args.restore) {
        (_, true) => binding::restore(&dev)?,
        (Some(d), false) => binding::bind(&dev, d, cli.force)?,
        (None, false) => {
            return Err(mmiodrv::Error::InvalidValue {
                input: String::new(),
                reason: "name a driver (vfio-pci or uio_pci_generic) or pass --restore".into(),
            })
        }
    };
    report(cli, &outcome);
    Ok(())
}

pub fn unbind(cli: &Cli) -> Result<()> {
    let dev = resolve_device(cli)?;
    let outcome = binding::unbind(&dev, cli.force)?;
    report(cli, &outcome);
    Ok(())
}
