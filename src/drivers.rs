//! Drivers: what a driver declares ([`DriverInfo`]: its command group, the
//! devices it claims, its register maps) and the drivers this process runs
//! with ([`install`]).
//!
//! A driver is a crate (the built-in ones are drivers/edu, drivers/ivshmem,
//! drivers/e1000): its register map declared once with
//! [`crate::register_map!`], its typed API, its subcommands declared with
//! [`crate::command`], and a `pub static DRIVER: DriverInfo`. A front end
//! installs the drivers it was built with (`mmiodrv_cli::run(&[&DRIVER])`,
//! the Python module's init), and from then on the library finds them
//! everywhere a driver matters: the map of a device it claims
//! ([`crate::device::Device`]), `list`'s MMIODRV column, the lines a script
//! takes ([`crate::session::line_commands`]), the JSON schema. See
//! docs/writing-a-driver.md.

use std::sync::RwLock;

use crate::backend::Backend;
use crate::command::Command;
use crate::error::{Error, ErrorKind, Result};
use crate::pci::{ConfigSpace, SysfsDevice};
use crate::regmap::RegisterMap;

/// A driver: the devices it claims, its register maps and commands. Built
/// with [`DriverInfo::new`] and the `const` methods after it, in a `static`:
///
/// ```
/// use mmiodrv::command::Command;
/// use mmiodrv::drivers::DriverInfo;
///
/// const COMMANDS: &[Command] = &[];
/// pub static DRIVER: DriverInfo = DriverInfo::new("blinky", "A made-up LED controller")
///     .ids(&[(0x1b36, 0x0100)])
///     .subcommands(COMMANDS);
/// assert!(DRIVER.claims(0x1b36, 0x0100));
/// ```
#[derive(Debug)]
#[non_exhaustive]
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
    /// The PCI class code (class, subclass, programming interface) a
    /// simulated device of this driver reports (`Device::sim_driver`).
    pub class: u32,
    /// Declares the JSON type of each of its commands' results, each under
    /// its command's declaration ([`crate::schema::Results::add`]): the
    /// schema of `--json` output knows them from here.
    #[cfg(feature = "schema")]
    pub results: fn(&mut crate::schema::Results),
}

impl DriverInfo {
    /// A driver named `name` (its command group: `mmiodrv NAME ...`), which
    /// drives what `about` says; it claims no device, has no map and no
    /// commands until the methods below give them.
    pub const fn new(name: &'static str, about: &'static str) -> Self {
        DriverInfo {
            command: Command::group(name, about, &[]),
            ids: &[],
            maps: &[],
            top_level: &[],
            class: 0xff_0000,
            #[cfg(feature = "schema")]
            results: |_| {},
        }
    }

    /// Claiming these (vendor, device) IDs; the first is what a simulated
    /// device of the driver reports.
    pub const fn ids(mut self, ids: &'static [(u16, u16)]) -> Self {
        self.ids = ids;
        self
    }

    /// With these register maps (one per BAR they describe).
    pub const fn maps(mut self, maps: &'static [&'static RegisterMap]) -> Self {
        self.maps = maps;
        self
    }

    /// With these commands (`mmiodrv NAME COMMAND`).
    pub const fn subcommands(mut self, commands: &'static [Command]) -> Self {
        self.command.subcommands = commands;
        self
    }

    /// With these top-level commands (`mmiodrv ivshmem-server`).
    pub const fn top_level(mut self, commands: &'static [Command]) -> Self {
        self.top_level = commands;
        self
    }

    /// Reporting this PCI class code when simulated (default `ff0000`,
    /// unassigned).
    pub const fn class(mut self, class: u32) -> Self {
        self.class = class;
        self
    }

    /// With the JSON types of its commands' results (see
    /// [`crate::schema::Results::add`]).
    #[cfg(feature = "schema")]
    pub const fn results(mut self, results: fn(&mut crate::schema::Results)) -> Self {
        self.results = results;
        self
    }

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
                ErrorKind::WrongDevice {
                    expected_name: article(self.name()),
                    expected: self.ids.first().copied().unwrap_or((0xffff, 0xffff)),
                    found,
                },
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

/// The drivers installed, in the order they were.
static INSTALLED: RwLock<&'static [&'static DriverInfo]> = RwLock::new(&[]);

/// Install `drivers` for this process, after those installed before (a
/// driver installed again is left as it is). Refused, with nothing
/// installed, when a driver's name is another's, or when two claim the
/// same IDs. Front ends install the drivers they were built with before
/// anything else; a program on the library that wants a driver's map found
/// for the devices it claims installs it too.
pub fn install(drivers: &[&'static DriverInfo]) -> Result<()> {
    let mut installed = INSTALLED.write().unwrap_or_else(|p| p.into_inner());
    let mut all: Vec<&'static DriverInfo> = installed.to_vec();
    for d in drivers {
        if all.iter().any(|i| std::ptr::eq(*i, *d)) {
            continue;
        }
        if let Some(other) = all.iter().find(|i| i.name() == d.name()) {
            let why = format!("two drivers are named {} ({} and {})", d.name(), other.command.about, d.command.about);
            return Err(Error::invalid(d.name(), why));
        }
        for (v, dev) in d.ids {
            if let Some(other) = all.iter().find(|i| i.claims(*v, *dev)) {
                let why = format!("{v:04x}:{dev:04x} is claimed by {} and {}", other.name(), d.name());
                return Err(Error::invalid(d.name(), why));
            }
        }
        all.push(d);
    }
    if all.len() != installed.len() {
        // A few drivers, installed once or twice in a process's life.
        *installed = Box::leak(all.into_boxed_slice());
    }
    Ok(())
}

/// Every installed driver.
pub fn installed() -> &'static [&'static DriverInfo] {
    *INSTALLED.read().unwrap_or_else(|p| p.into_inner())
}

/// The installed driver for these IDs, if any.
pub fn for_ids(vendor: u16, device: u16) -> Option<&'static DriverInfo> {
    installed().iter().copied().find(|d| d.claims(vendor, device))
}

/// The installed driver for a device found in sysfs, if any.
pub fn for_device(dev: &SysfsDevice) -> Option<&'static DriverInfo> {
    for_ids(dev.vendor_id().ok()?, dev.device_id().ok()?)
}

/// The installed driver named `name`.
pub fn by_name(name: &str) -> Option<&'static DriverInfo> {
    installed().iter().copied().find(|d| d.name() == name)
}

/// What [`validate`] found wrong with a driver: one problem per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for Problems {}

/// Check a driver as the built-in ones are checked, for a driver crate's
/// own tests (`mmiodrv::drivers::validate(&DRIVER).unwrap()` prints every
/// problem): its name and IDs, every map through [`crate::regmap::validate`]
/// (the checks a `--regmap` file gets: overlaps, fields inside their
/// register, widths the access rules allow, names, values), one map per
/// BAR, and every command and argument with a description (help, man pages
/// and Python's docstrings are made of them), groups with subcommands and
/// commands without.
pub fn validate(driver: &DriverInfo) -> std::result::Result<(), Problems> {
    let mut problems = Vec::new();
    let name = driver.name();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        problems.push(format!("driver name '{name}': lowercase letters, digits and '-' only (it is a command)"));
    }
    if driver.command.about.is_empty() {
        problems.push(format!("{name}: no description"));
    }
    if driver.ids.is_empty() {
        problems.push(format!("{name}: claims no (vendor, device) IDs"));
    }
    for (i, map) in driver.maps.iter().enumerate() {
        if let Err(e) = crate::regmap::validate(map) {
            problems.push(format!("{name}: map {}: {e}", map.name));
        }
        if driver.maps[..i].iter().any(|m| m.bar == map.bar) {
            problems.push(format!("{name}: two maps for BAR{}", map.bar));
        }
    }
    fn walk(path: &str, c: &Command, problems: &mut Vec<String>) {
        let path = format!("{path} {}", c.name);
        if c.about.is_empty() {
            problems.push(format!("{path}: no description"));
        }
        let group = matches!(c.run, crate::command::Run::Group);
        if group == c.subcommands.is_empty() {
            problems.push(format!("{path}: a group needs subcommands, a command runs something"));
        }
        for a in c.args {
            if a.help.is_empty() {
                problems.push(format!("{path} {}: no help", a.name));
            }
            if a.kind == crate::command::ArgKind::Flag && a.default.is_some() {
                problems.push(format!("{path} --{}: a flag has no default", a.name));
            }
        }
        for s in c.subcommands {
            walk(&path, s, problems);
        }
    }
    for c in driver.commands().iter() {
        walk(name, c, &mut problems);
    }
    for c in driver.top_level {
        walk("", c, &mut problems);
    }
    #[cfg(feature = "schema")]
    results_declared(driver, &mut problems);
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Problems(problems)),
    }
}

/// Every command of `driver` declares the JSON type of its results (the
/// schema of `--json` has a branch for each), and nothing else is declared.
#[cfg(feature = "schema")]
fn results_declared(driver: &DriverInfo, problems: &mut Vec<String>) {
    fn leaves(prefix: &str, c: &Command, out: &mut Vec<String>) {
        let path = if prefix.is_empty() { c.name.to_string() } else { format!("{prefix} {}", c.name) };
        if !matches!(c.run, crate::command::Run::Group) {
            out.push(path.clone());
        }
        for s in c.subcommands {
            leaves(&path, s, out);
        }
    }
    let mut commands = Vec::new();
    leaves("", &driver.command, &mut commands);
    for c in driver.top_level {
        leaves("", c, &mut commands);
    }
    let mut r = crate::schema::Results::new();
    (driver.results)(&mut r);
    let declared: Vec<&str> = r.ops().collect();
    for c in commands.iter().filter(|c| !declared.contains(&c.as_str())) {
        problems.push(format!("{c}: the JSON type of its results is not declared (DriverInfo::results)"));
    }
    for d in declared.iter().filter(|d| !commands.iter().any(|c| c == *d)) {
        problems.push(format!("{d}: results declared for a command the driver does not have"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Arg, Run, Value};

    crate::register_map! {
        /// A made-up device.
        pub mod regs {
            map MAP {
                name: "tester",
                description: "A made-up device",
                bar: 0,
                size: Some(0x1000),
                access: [(0x0, 0x1000, [W32])],
            }
            /// Control
            CTRL @ 0x00: u32, RW {
                /// Enable
                EN [0],
            }
        }
    }

    fn nothing(_: &mut crate::command::Call<'_>) -> Result<()> {
        Ok(())
    }

    const GOOD: &[Command] =
        &[Command::new("go", "Go", Run::Call(nothing)).args(&[Arg::positional("N", Value::Bits(8), "How far")])];
    const BAD: &[Command] = &[
        Command::new("go", "", Run::Call(nothing)).args(&[Arg::positional("N", Value::Bits(8), "")]),
        Command::group("empty", "A group", &[]),
    ];

    static A: DriverInfo =
        declared(DriverInfo::new("tester-a", "A").ids(&[(0xffff, 0x0a)]).maps(&[&regs::MAP]).subcommands(GOOD));

    /// With its one command's results declared (when there is a schema).
    const fn declared(d: DriverInfo) -> DriverInfo {
        #[cfg(feature = "schema")]
        let d = d.results(|r| {
            r.add_op::<u64>("tester-a go");
        });
        d
    }
    static B: DriverInfo = DriverInfo::new("tester-b", "B").ids(&[(0xffff, 0x0b)]);
    static SAME_NAME: DriverInfo = DriverInfo::new("tester-a", "another A").ids(&[(0xffff, 0x0c)]);
    static SAME_IDS: DriverInfo = DriverInfo::new("tester-c", "C").ids(&[(0xffff, 0x0a)]);

    #[test]
    fn installed_drivers_are_found_by_ids_and_name() {
        install(&[&A, &B]).unwrap();
        install(&[&A]).unwrap();
        assert_eq!(for_ids(0xffff, 0x0a).map(|d| d.name()), Some("tester-a"));
        assert_eq!(by_name("tester-b").map(|d| d.command.about), Some("B"));
        assert!(for_ids(0xffff, 0xffff).is_none());
        let before = installed().len();
        assert!(install(&[&SAME_NAME]).unwrap_err().to_string().contains("two drivers are named tester-a"));
        assert!(install(&[&SAME_IDS])
            .unwrap_err()
            .to_string()
            .contains("ffff:000a is claimed by tester-a and tester-c"));
        assert_eq!(installed().len(), before);
    }

    #[test]
    fn validate_names_every_problem() {
        validate(&A).unwrap();
        static WORSE: DriverInfo = DriverInfo::new("Worse", "").subcommands(BAD);
        let problems = validate(&WORSE).unwrap_err().to_string();
        for p in [
            "driver name 'Worse'",
            "Worse: no description",
            "claims no (vendor, device) IDs",
            "Worse go: no description",
            "Worse go N: no help",
            "Worse empty: a group needs subcommands",
        ] {
            assert!(problems.contains(p), "{p} in {problems}");
        }
    }

    #[test]
    fn expect_names_the_driver_with_its_article() {
        let sim = crate::backend::sim::SimBackend::from_maps(
            &[&regs::MAP],
            crate::backend::sim::Identity::of(&B),
            &Default::default(),
        )
        .unwrap();
        let e = A.expect(&sim).unwrap_err().to_string();
        assert!(e.contains("a tester-a"), "{e}");
        assert!(B.expect(&sim).is_ok());
    }
}
