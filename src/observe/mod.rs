//! Watching a device: what bring-up and debugging mostly is.
//!
//! - [`watch`]: poll registers and fields, report each change with its time;
//! - [`sample`]: sample fields at a rate and count how often each is set (or
//!   holds each value), with the rate actually achieved;
//! - [`snapshot`]: every readable register (or a BAR's raw bytes) with the
//!   device, map and time in one JSON file, decoded later without the device,
//!   and compared with another snapshot or the live device;
//! - [`trace`]: a record of every register access a command makes (a
//!   [`crate::backend::Backend`] decorator), read back with names from the map;
//! - [`replay`]: a trace's writes issued again in order, its reads checked.
//!
//! Everything works on any [`crate::device::Device`] (PCI through any
//! backend, a host file, a simulated device) with a built-in or a user's map,
//! and follows the side-effect policy of [`crate::window::Layout::dump_plan`]:
//! a register whose read changes the device is never read unless named.

pub mod error;
pub mod probe;
pub mod replay;
pub mod sample;
pub mod snapshot;
pub mod trace;
pub mod watch;

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

pub use crate::backend::trace::DeviceIds;
pub use crate::value::rfc3339;

pub use probe::{Expand, Probe};

/// The built-in map named `name` for `bar` (snapshots and traces name the
/// map they were made with).
pub fn builtin_map(name: &str, bar: u8) -> Option<&'static crate::regmap::RegisterMap> {
    crate::drivers::installed().iter().flat_map(|d| d.maps.iter().copied()).find(|m| m.name == name && m.bar == bar)
}

/// The map called `name` in the map file `path` (a snapshot or trace names
/// the block it was made with, or the file's name for all its blocks), at
/// the file's own placement. A file a snapshot or trace names is read as
/// data only: SystemRDL, whose compiler is another program, is refused
/// (give such a map with `--regmap`).
pub fn load_map(path: &std::path::Path, name: &str) -> crate::Result<crate::regmap::RegisterMap> {
    let file = crate::regmap::formats::load_file_as_data(path)?;
    match file.blocks.iter().any(|b| b.name.eq_ignore_ascii_case(name)) && file.blocks.len() > 1 {
        true => file.place(Some(name), None),
        false => file.place(None, None),
    }
}

/// `ids` for messages: the IDs, or what has none.
pub fn ids_text(ids: Option<&DeviceIds>) -> String {
    ids.map(|i| format!("IDs {i}")).unwrap_or_else(|| "no PCI IDs".into())
}

/// Whole milliseconds, for JSON (`"elapsed_ms": 1234`).
pub fn millis(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

/// Wait until `until`, or until `stop` becomes readable (then true). The
/// descriptor is polled in whole milliseconds and the rest slept, so short
/// sampling periods stay accurate; past `until` it is only checked.
pub(crate) fn pause(stop: Option<BorrowedFd<'_>>, until: Instant) -> crate::Result<bool> {
    // The kernel asking for the device back is no way to end an observation
    // quietly: it is the device-gone error.
    match crate::stop::requested() {
        Some(release @ crate::stop::Reason::Release(_)) => return Err(release.error(String::new())),
        Some(crate::stop::Reason::Signal(_)) if stop.is_some() => return Ok(true),
        _ => {}
    }
    if let Some(fd) = stop {
        let left = until.saturating_duration_since(Instant::now());
        let whole = Instant::now() + Duration::from_millis(left.as_millis() as u64);
        let ready = crate::stop::wait_readable(&[fd], whole)
            .map_err(|e| crate::Error::io("cannot poll", "the stop descriptor", e.into()))?;
        match crate::stop::requested() {
            Some(release @ crate::stop::Reason::Release(_)) => return Err(release.error(String::new())),
            Some(_) => return Ok(true),
            None if ready.is_some() => return Ok(true),
            None => {}
        }
    }
    let left = until.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        std::thread::sleep(left);
    }
    Ok(false)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    use crate::error::DeviceRef;
    use crate::mmio::MmioRegion;
    use crate::window::{Layout, MapSource, Window};

    pub(crate) const MAP: &str = "[device]\nname = \"t\"\n[[access]]\nrange = [0, 0x100]\nwidths = [32]\n\
        [[register]]\nname = \"ID\"\noffset = 0\nwidth = 32\naccess = \"RO\"\n\
        [[register]]\nname = \"CTRL\"\noffset = 4\nwidth = 32\naccess = \"RW\"\n\
        field = [{ name = \"MODE\", bits = \"2:1\", values = { 0 = \"off\", 1 = \"fast\" } }, { name = \"EN\", bits = 0 }]\n\
        [[register]]\nname = \"KICK\"\noffset = 8\nwidth = 32\naccess = \"WO\"\n\
        [[register]]\nname = \"ISR\"\noffset = 12\nwidth = 32\naccess = \"RW\"\nread_side_effects = true\n";

    /// A window on 4 KiB of RAM with [`MAP`]: RO ID, RW CTRL (MODE, EN),
    /// write-only KICK, side-effect ISR.
    pub(crate) fn ram_window() -> Window {
        let map = crate::regmap::parse(MAP, "t.toml").unwrap();
        let layout = Layout {
            device: DeviceRef::Ram,
            bar: 0,
            len: 0,
            map: Some(map.into()),
            source: MapSource::Builtin,
            force: false,
        };
        Window::new(layout, Box::new(MmioRegion::ram(4096).unwrap()))
    }

    #[test]
    fn pause_sleeps_until_the_deadline_or_the_stop_descriptor() {
        let t = Instant::now();
        assert!(!pause(None, t + Duration::from_millis(5)).unwrap());
        assert!(t.elapsed() >= Duration::from_millis(5));
        let (r, w) = nix::unistd::pipe().unwrap();
        use std::os::fd::AsFd;
        let t = Instant::now();
        assert!(!pause(Some(r.as_fd()), t + Duration::from_micros(2500)).unwrap());
        assert!(t.elapsed() >= Duration::from_micros(2500));
        nix::unistd::write(&w, b"x").unwrap();
        assert!(pause(Some(r.as_fd()), Instant::now() + Duration::from_secs(10)).unwrap());
    }

    #[test]
    fn rfc3339_in_utc_with_milliseconds() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789); // a leap day
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.789Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(4_102_444_799)), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn millis_are_whole() {
        assert_eq!(millis(Duration::from_micros(1_234_567)), 1234);
    }
}
