//! blinky: a made-up LED controller on PCI (1234:b1b1), and its driver
//! outside mmiodrv. The code docs/writing-a-driver.md walks through.
//!
//! BAR0 holds four 32-bit registers: CTRL (enable, a blink speed with four
//! named values, an event bit the device sets and software acknowledges by
//! writing 1), STATUS (read-only), COUNTER (read-write) and IRQ_STATUS
//! (write 1 to clear).
#![deny(unsafe_code)]

mod commands;

use mmiodrv::backend::{Backend, BarOptions};
use mmiodrv::drivers::DriverInfo;
use mmiodrv::error::{DeviceRef, Result};
use mmiodrv::mmio::RegisterIo;

use self::regs::{COUNTER, CTRL, IRQ_STATUS, STATUS};

// The registers: src/map.rs (`pub mod regs`).
include!("map.rs");

// ANCHOR: driver
/// PCI vendor and device ID of blinky.
pub const IDS: &[(u16, u16)] = &[(0x1234, 0xb1b1)];

/// The driver: what `mmiodrv_cli::run` and the Python module are given.
pub static DRIVER: DriverInfo = DriverInfo::new("blinky", "blinky, a made-up LED controller: status, mode, ack")
    .ids(IDS)
    .maps(&[&regs::MAP])
    .subcommands(commands::COMMANDS)
    .class(0x088000) // system peripheral, other
    .results(commands::results);
// ANCHOR_END: driver

// ANCHOR: api
/// A blink speed (CTRL.MODE's named values): `Mode::Fast`.
pub use regs::CTRL::MODE::Value as Mode;

/// blinky, opened through a backend (sysfs, UIO, VFIO or a simulated device).
pub struct Blinky {
    bar: Box<dyn RegisterIo>,
    device: DeviceRef,
}

/// What `status` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Status {
    /// CTRL.ENABLE.
    pub enabled: bool,
    /// CTRL.MODE, by name.
    pub mode: &'static str,
    /// CTRL.EVENT: an event waits to be acknowledged.
    pub event: bool,
    /// STATUS.READY.
    pub ready: bool,
    /// STATUS.LIT.
    pub lit: bool,
    /// COUNTER.
    pub blinks: u32,
    /// IRQ_STATUS.
    pub irq_status: u32,
}

impl Blinky {
    /// Check the device is a blinky (its IDs), open BAR0.
    pub fn open(backend: &dyn Backend) -> Result<Blinky> {
        DRIVER.expect(backend)?;
        Ok(Blinky { bar: backend.open_bar(0, BarOptions::RW)?, device: backend.device() })
    }

    /// The device, for messages.
    pub fn device(&self) -> &DeviceRef {
        &self.device
    }

    fn io(&self) -> &dyn RegisterIo {
        self.bar.as_ref()
    }

    /// Every register, decoded.
    pub fn status(&self) -> Result<Status> {
        let ctrl = CTRL.read(self.io())?;
        let status = STATUS.read(self.io())?;
        Ok(Status {
            enabled: ctrl.is_set(CTRL::ENABLE),
            mode: mode_name(CTRL::MODE.read_as(ctrl).unwrap_or(Mode::Off)),
            event: ctrl.is_set(CTRL::EVENT),
            ready: status.is_set(STATUS::READY),
            lit: status.matches(STATUS::LIT::Lit),
            blinks: COUNTER.read(self.io())?.bits(),
            irq_status: IRQ_STATUS.read(self.io())?.bits(),
        })
    }

    /// Blink at `mode` (Off turns the LED off). CTRL's other fields keep
    /// their value, and a pending EVENT stays pending: `modify` writes it 0,
    /// which leaves a write-1-to-clear bit alone.
    pub fn set_mode(&self, mode: Mode) -> Result<()> {
        let enable = if mode == Mode::Off { CTRL::ENABLE::CLEAR } else { CTRL::ENABLE::SET };
        CTRL.modify(self.io(), mode | enable)?;
        Ok(())
    }

    /// Acknowledge what is pending (IRQ_STATUS and CTRL.EVENT): the bits
    /// acknowledged, IRQ_STATUS's and (bit 8) CTRL.EVENT's.
    pub fn acknowledge(&self) -> Result<u32> {
        let pending = IRQ_STATUS.read(self.io())?;
        IRQ_STATUS.write(self.io(), pending)?;
        let event = CTRL.read(self.io())?.is_set(CTRL::EVENT);
        if event {
            CTRL.modify(self.io(), CTRL::EVENT::SET)?;
        }
        Ok(pending.bits() | if event { CTRL::EVENT.mask() } else { 0 })
    }
}

/// A mode's name in the map (`Fast`).
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Off => "Off",
        Mode::Slow => "Slow",
        Mode::Medium => "Medium",
        Mode::Fast => "Fast",
    }
}
// ANCHOR_END: api
