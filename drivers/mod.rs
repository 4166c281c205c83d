//! Per-device drivers, one folder each: the device's register map (declared
//! once with [`crate::register_map!`]), its typed API, and its subcommands
//! (declared with [`crate::command`], so the library needs no command-line
//! crate).
//!
//! Adding a device is one folder here and one name in the `drivers!` list
//! below: the list declares the module and registers its [`DriverInfo`]
//! (`pub static DRIVER`), which the command line, `list`, `info`, batch
//! scripts and Python all read. See docs/writing-a-driver.md.
//!
//! This folder is compiled as the `mmiodrv::drivers` module of the library (see
//! `src/lib.rs`), which keeps it a top-level folder without a crate cycle.
//! Drivers are safe code: `#![deny(unsafe_code)]` holds for every one of them.
#![deny(unsafe_code)]

use crate::backend::Backend;
use crate::command::Command;
use crate::error::{Error, ErrorKind, Result};
use crate::pci::{ConfigSpace, SysfsDevice};
use crate::regmap::RegisterMap;

/// Declare the driver modules and the list of their [`DriverInfo`]s.
macro_rules! drivers {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*
        /// Every built-in driver.
        pub static DRIVERS: &[&DriverInfo] = &[$(&$name::DRIVER),*];
    };
}

drivers!(edu, ivshmem, e1000);

/// A built-in driver: the devices it claims, its register maps and commands.
#[derive(Debug)]
pub struct DriverInfo {
    /// Its command group: the group's name is the driver's (`mmiodrv NAME
    /// SUBCOMMAND`), its about says what it drives, its subcommands are
    /// the driver's commands.
    pub command: Command,
    /// The (vendor, device) IDs it claims.
    pub ids: &'static [(u16, u16)],
    /// Register maps, one per BAR it describes.
    pub maps: &'static [&'static RegisterMap],
    /// Top-level commands it adds (`mmiodrv ivshmem-server`).
    pub top_level: &'static [Command],
    /// Declares the JSON type of each of its commands' results, each under
    /// its command's declaration ([`crate::schema::Results::add`]): the
    /// schema of `--json` output knows them from here.
    #[cfg(feature = "schema")]
    pub results: fn(&mut crate::schema::Results),
}

impl DriverInfo {
    /// Its name.
    pub fn name(&self) -> &'static str {
        self.command.name
    }

    /// Its commands (`mmiodrv NAME SUBCOMMAND`).
    pub fn commands(&self) -> &'static [Command] {
        self.command.subcommands
    }

    /// The map for `bar`, if it has one.
    pub fn map_for_bar(&self, bar: u8) -> Option<&'static RegisterMap> {
        self.maps.iter().copied().find(|m| m.bar == bar)
    }

    /// Whether it claims these IDs.
    pub fn claims(&self, vendor: u16, device: u16) -> bool {
        self.ids.contains(&(vendor, device))
    }

    /// Read config space through `backend` and check the device is this
    /// driver's; the config is returned for further checks.
    pub fn expect(&self, backend: &dyn Backend) -> Result<ConfigSpace> {
        let config = backend.read_config()?;
        let found = (config.vendor_id().unwrap_or(0), config.device_id().unwrap_or(0));
        if !self.claims(found.0, found.1) {
            return Err(Error::on(
                backend.device(),
                ErrorKind::WrongDevice { expected_name: article(self.name()), expected: self.ids[0], found },
            ));
        }
        Ok(config)
    }
}

/// `an edu`, `an ivshmem`, `a blinky`: the driver's name with its article.
fn article(name: &str) -> String {
    let vowel = name.starts_with(|c: char| "aeiouAEIOU".contains(c));
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// The built-in driver for these IDs, if any.
pub fn for_ids(vendor: u16, device: u16) -> Option<&'static DriverInfo> {
    DRIVERS.iter().copied().find(|d| d.claims(vendor, device))
}

/// The built-in driver for a device found in sysfs, if any.
pub fn for_device(dev: &SysfsDevice) -> Option<&'static DriverInfo> {
    for_ids(dev.vendor_id().ok()?, dev.device_id().ok()?)
}

/// The driver named `name`.
pub fn by_name(name: &str) -> Option<&'static DriverInfo> {
    DRIVERS.iter().copied().find(|d| d.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ArgKind;

    #[test]
    fn every_builtin_map_passes_the_loaders_checks() {
        for d in DRIVERS {
            assert!(!d.maps.is_empty(), "{}", d.name());
            for map in d.maps {
                crate::regmap::validate(map).unwrap_or_else(|e| panic!("{}: {e:?}", d.name()));
            }
        }
    }

    #[test]
    fn drivers_are_found_by_ids_and_name() {
        for d in DRIVERS {
            for (v, dev) in d.ids {
                assert_eq!(for_ids(*v, *dev).map(|x| x.name()), Some(d.name()));
            }
            assert_eq!(by_name(d.name()).map(|x| x.name()), Some(d.name()));
        }
        assert!(for_ids(0xffff, 0xffff).is_none());
    }

    #[test]
    fn every_command_and_argument_says_what_it_is() {
        fn walk(path: &str, c: &Command) {
            assert!(!c.about.is_empty(), "{path} {} has no description", c.name);
            let group = matches!(c.run, crate::command::Run::Group);
            assert!(group != c.subcommands.is_empty(), "{path} {}: run xor subcommands", c.name);
            for a in c.args {
                assert!(!a.help.is_empty(), "{path} {} {} has no help", c.name, a.name);
                if a.kind == ArgKind::Flag {
                    assert!(a.default.is_none());
                }
            }
            for s in c.subcommands {
                walk(&format!("{path} {}", c.name), s);
            }
        }
        for d in DRIVERS {
            for c in d.commands().iter().chain(d.top_level) {
                walk(d.name(), c);
            }
        }
    }
}
