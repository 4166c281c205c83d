//! A simulated device built from a register map (`sim:FILE`), for testing
//! scripts, maps and drivers with no hardware.
//!
//! The map is one memory BAR (a TOML map's `bar`, else BAR0) laid out as
//! `--regmap` lays it out ([`MapFile::place`]): every block at its address
//! (moved by a placement, `sim:FILE@0x4000`), or only the block
//! [`SimOptions::block`] names, at its address too. Registers start at their reset
//! values (0 where the map gives none) and every access applies the map's
//! semantics: read-only registers and fields ignore writes, write-1-to-clear
//! (and the other `modifiedWriteValue`s) act on the bits written,
//! read-to-clear/-set fields change when read, write-only registers read as
//! 0. Bytes no register covers behave as RAM. The state lives in memory, or
//! in [`SimOptions::state`], a JSON file read at open and rewritten after
//! every access that changes it, so a sequence of commands sees its own
//! writes. Config space is synthesized from an [`Identity`]: vendor `ffff`,
//! device `ffff`, class `ff0000` for a map file, a driver's IDs and class
//! for a driver's maps ([`SimBackend::from_maps`], `sim:DRIVER`, so the
//! driver's `expect` accepts it); memory decoding on, the BARs at made-up
//! addresses.

use crate::error::{AccessError, BackendError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendKind, BarInfo, BarOptions};
use crate::error::{DeviceRef, Error, ErrorKind, Result};
use crate::mmio::width::check_access;
use crate::mmio::{RegisterIo, Width};
use crate::pci::{BarKind, ConfigSpace};
use crate::regmap::formats::{Format, MapFile};
use crate::regmap::model::{Access, ReadAction, Register, RegisterMap, WordOrder, WriteSemantics};

/// Largest state file read (`--state`): a map's every word written is far less.
const MAX_STATE_FILE: u64 = 64 << 20;

/// Vendor ID of a simulated device.
pub const SIM_VENDOR: u16 = 0xffff;
/// Device ID of a simulated device.
pub const SIM_DEVICE: u16 = 0xffff;
/// Smallest simulated BAR.
const MIN_BAR: u64 = 0x1000;
/// Largest simulated BAR (a map stating a larger size gets what its registers need).
const MAX_BAR: u64 = 1 << 32;

/// What a simulated device says it is in its config space header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Class code: class, subclass and programming interface (`0x020000`).
    pub class: u32,
    /// Revision ID.
    pub revision: u8,
    /// Subsystem vendor and device IDs.
    pub subsystem: (u16, u16),
}

impl Identity {
    /// A device no driver claims: `ffff:ffff`, class `ff0000` (unassigned).
    pub const UNKNOWN: Identity =
        Identity { vendor: SIM_VENDOR, device: SIM_DEVICE, class: 0xff_0000, revision: 0, subsystem: (0, 0) };

    /// What `driver` declares: its first IDs and its class.
    pub fn of(driver: &crate::drivers::DriverInfo) -> Identity {
        let (vendor, device) = driver.ids.first().copied().unwrap_or((SIM_VENDOR, SIM_DEVICE));
        Identity { vendor, device, class: driver.class, ..Identity::UNKNOWN }
    }
}

/// How to build a simulated device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimOptions {
    /// Keep the registers' state in this file (else in memory).
    pub state: Option<PathBuf>,
    /// Simulate only this block of the map (at its address).
    pub block: Option<String>,
}

/// One simulated BAR: its map and its memory (8-byte little-endian words, sparse).
struct SimBar {
    index: u8,
    size: u64,
    map: RegisterMap,
    words: BTreeMap<u64, u64>,
}

struct State {
    bars: Vec<SimBar>,
    file: Option<PathBuf>,
    identity: Identity,
}

/// The state file's contents.
#[derive(Serialize, Deserialize)]
struct StateFile {
    mmiodrv_sim_state: u32,
    map: String,
    /// BAR index → { "0xOFFSET": word } (nonzero 8-byte words only).
    bars: BTreeMap<String, BTreeMap<String, String>>,
}

/// A register an access touches: the register, the mask of its bits the
/// access covers, and per byte (bit in the access, bit in the register).
type Touched = (Register, u64, Vec<(u32, u32)>);

/// A simulated device (see the module documentation). Clones share the
/// device: a test keeps one to play the hardware's side
/// ([`SimBackend::set_register`]) while a driver uses another.
#[derive(Clone)]
pub struct SimBackend {
    device: DeviceRef,
    state: Arc<Mutex<State>>,
}

impl SimBackend {
    /// A simulated device for the blocks of `file` (loaded from `path`).
    pub fn new(path: &Path, file: &MapFile, options: &SimOptions) -> Result<SimBackend> {
        SimBackend::placed(path, file, options, None)
    }

    /// [`SimBackend::new`] with the file's address 0 at BAR offset `at`
    /// (else where the file places it).
    pub fn placed(path: &Path, file: &MapFile, options: &SimOptions, at: Option<i64>) -> Result<SimBackend> {
        let device = DeviceRef::Sim(path.to_path_buf());
        let mut map = file.place(options.block.as_deref(), at).map_err(|e| e.with_device(device.clone()))?;
        // A TOML map names its BAR; the other formats' maps are BAR0's.
        if file.format != Format::Toml {
            map.bar = 0;
        }
        SimBackend::build(device, vec![map], Identity::UNKNOWN, options)
    }

    /// A simulated device with these maps, each as the BAR it names
    /// (`register_map!`'s maps, a driver's), saying it is `identity`:
    /// `SimBackend::from_maps(DRIVER.maps, Identity::of(&DRIVER), &SimOptions::default())`
    /// is the device a driver's tests run against. Two maps for one BAR
    /// are refused.
    pub fn from_maps(maps: &[&RegisterMap], identity: Identity, options: &SimOptions) -> Result<SimBackend> {
        let name = maps.first().map_or("device", |m| m.name.as_ref());
        let device = DeviceRef::Sim(PathBuf::from(name));
        for (i, m) in maps.iter().enumerate() {
            if maps[..i].iter().any(|o| o.bar == m.bar) || m.bar > 5 {
                let why = format!("two maps for BAR{} (or no such BAR): one map per BAR", m.bar);
                return Err(Error::on(device, ErrorKind::InvalidValue { input: m.name.to_string(), reason: why }));
            }
        }
        SimBackend::build(device, maps.iter().map(|m| (*m).clone()).collect(), identity, options)
    }

    /// The simulated device of `driver` (its maps, IDs and class), in
    /// memory, named `sim:NAME`: the hardware's side of a driver's test
    /// (`crate::device::Device::simulating`).
    pub fn for_driver(driver: &crate::drivers::DriverInfo) -> Result<SimBackend> {
        let mut sim = SimBackend::from_maps(driver.maps, Identity::of(driver), &SimOptions::default())?;
        sim.rename(driver.name());
        Ok(sim)
    }

    /// The device `device` of `maps` (each at its `bar`), reset, then
    /// loaded from the state file if one is given.
    fn build(
        device: DeviceRef,
        maps: Vec<RegisterMap>,
        identity: Identity,
        options: &SimOptions,
    ) -> Result<SimBackend> {
        let mut bars = Vec::new();
        for map in maps {
            let end = map.registers.iter().map(Register::end).max().unwrap_or(0);
            let need = end.max(MIN_BAR).next_power_of_two();
            let size = map.size.filter(|s| *s >= end && *s <= MAX_BAR).unwrap_or(need).max(1);
            let mut bar = SimBar { index: map.bar, size, map, words: BTreeMap::new() };
            bar.reset();
            bars.push(bar);
        }
        let mut state = State { bars, file: options.state.clone(), identity };
        if let Some(p) = &options.state {
            state.load(p, &device)?;
        }
        Ok(SimBackend { device, state: Arc::new(Mutex::new(state)) })
    }

    /// The same device, named `sim:NAME` in messages.
    pub fn rename(&mut self, name: &str) {
        self.device = DeviceRef::Sim(PathBuf::from(name));
    }

    /// What it says it is.
    pub fn identity(&self) -> Identity {
        self.lock().identity
    }

    /// Open `sim:PATH` or `sim:PATH@OFFSET` ([`crate::regmap::MapSpec`]):
    /// load the map (any format) and build the device.
    pub fn open(path: &Path, options: &SimOptions) -> Result<SimBackend> {
        let spec = crate::regmap::MapSpec::parse(&path.to_string_lossy())?;
        let file = crate::regmap::load_file(&spec.path)?;
        SimBackend::placed(path, &file, options, spec.at)
    }

    /// The maps of the simulated BARs.
    pub fn maps(&self) -> Vec<RegisterMap> {
        self.lock().bars.iter().map(|b| b.map.clone()).collect()
    }

    /// The hardware's side: set register `name` of BAR `bar` to `value`
    /// directly, without the map's write semantics (a status bit the device
    /// raises, a counter that moved).
    pub fn set_register(&self, bar: u8, name: &str, value: u64) -> Result<()> {
        let mut state = self.lock();
        let Some(b) = state.bar(bar) else { return Err(Error::on(self.device(), BackendError::BarNotPresent { bar })) };
        let reg = b.map.register(name)?.clone();
        reg.width.check_value(value, &format!("register {}", reg.name))?;
        b.set_register(&reg, value);
        state.save(&self.device)
    }

    /// The hardware's side: register `name` of BAR `bar` as it is, without
    /// read side effects.
    pub fn register_value(&self, bar: u8, name: &str) -> Result<u64> {
        let mut state = self.lock();
        let Some(b) = state.bar(bar) else { return Err(Error::on(self.device(), BackendError::BarNotPresent { bar })) };
        let reg = b.map.register(name)?.clone();
        Ok(b.register_value(&reg))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SimBar {
    fn reset(&mut self) {
        self.words.clear();
        let regs: Vec<Register> = self.map.registers.iter().cloned().collect();
        for r in &regs {
            self.set_register(r, r.reset.unwrap_or(0));
        }
    }

    fn byte(&self, addr: u64) -> u8 {
        let word = self.words.get(&(addr & !7)).copied().unwrap_or(0);
        (word >> ((addr & 7) * 8)) as u8
    }

    fn set_byte(&mut self, addr: u64, value: u8) {
        let key = addr & !7;
        let shift = (addr & 7) * 8;
        let word = self.words.get(&key).copied().unwrap_or(0);
        let new = (word & !(0xff << shift)) | (u64::from(value) << shift);
        if new == 0 {
            self.words.remove(&key);
        } else {
            self.words.insert(key, new);
        }
    }

    fn raw(&self, offset: u64, bytes: u64) -> u64 {
        (0..bytes).fold(0, |v, i| v | (u64::from(self.byte(offset + i)) << (8 * i)))
    }

    /// Where each byte of a register's value is kept: (byte address, bit of
    /// the register value it holds).
    fn register_bytes(r: &Register) -> Vec<(u64, u32)> {
        let n = (r.width.bits() / r.access_width.bits()).max(1);
        let piece = r.access_width.bytes();
        let mut out = Vec::new();
        for i in 0..n {
            let shift = match r.word_order {
                WordOrder::Little => i * r.access_width.bits(),
                WordOrder::Big => (n - 1 - i) * r.access_width.bits(),
            };
            for j in 0..piece {
                out.push((r.offset + u64::from(i) * piece + j, shift + 8 * j as u32));
            }
        }
        out
    }

    fn register_value(&self, r: &Register) -> u64 {
        Self::register_bytes(r).iter().fold(0, |v, (addr, bit)| v | (u64::from(self.byte(*addr)) << bit))
    }

    fn set_register(&mut self, r: &Register, value: u64) {
        for (addr, bit) in Self::register_bytes(r) {
            self.set_byte(addr, (value >> bit) as u8);
        }
    }

    /// The registers an access of `bytes` at `offset` touches, each with
    /// the mask of its bits the access covers and, per byte, (access bit,
    /// register bit).
    fn touched(&self, offset: u64, bytes: u64) -> Vec<Touched> {
        let end = offset + bytes;
        let mut out = Vec::new();
        for r in self.map.registers.iter().filter(|r| r.offset < end && offset < r.end()) {
            let mut mask = 0u64;
            let mut map = Vec::new();
            for (addr, bit) in Self::register_bytes(r) {
                if (offset..end).contains(&addr) {
                    mask |= 0xff << bit;
                    map.push((8 * (addr - offset) as u32, bit));
                }
            }
            out.push((r.clone(), mask, map));
        }
        out
    }

    fn read(&mut self, offset: u64, width: Width) -> (u64, bool) {
        let mut value = self.raw(offset, width.bytes());
        let mut changed = false;
        for (r, mask, bytes) in self.touched(offset, width.bytes()) {
            let current = self.register_value(&r);
            let shown = if r.access.readable() { current } else { 0 };
            for (abit, rbit) in &bytes {
                value = (value & !(0xff << abit)) | (((shown >> rbit) & 0xff) << abit);
            }
            let after = after_read(&r, current, mask);
            if after != current {
                self.set_register(&r, after);
                changed = true;
            }
        }
        (value, changed)
    }

    fn write(&mut self, offset: u64, width: Width, value: u64) {
        let touched = self.touched(offset, width.bytes());
        let mut plain = value;
        let mut covered = 0u64;
        for (r, mask, bytes) in &touched {
            let mut written = 0u64;
            for (abit, rbit) in bytes {
                written |= ((value >> abit) & 0xff) << rbit;
                covered |= 0xff << abit;
            }
            let current = self.register_value(r);
            let new = after_write(r, current, written, *mask);
            self.set_register(r, new);
        }
        // Bytes no register covers are RAM.
        for i in 0..width.bytes() {
            if covered & (0xff << (8 * i)) == 0 {
                self.set_byte(offset + i, (plain & 0xff) as u8);
            }
            plain >>= 8;
        }
    }
}

/// A register's value after a read that covered `mask` of its bits.
fn after_read(r: &Register, current: u64, mask: u64) -> u64 {
    if r.fields.is_empty() {
        return if r.read_side_effects { current & !mask } else { current };
    }
    let mut v = current;
    for f in r.fields.iter().filter(|f| f.mask() & mask != 0) {
        let action = match f.read_action {
            ReadAction::None if r.read_side_effects && r.fields.iter().all(|f| f.read_action == ReadAction::None) => {
                ReadAction::Clear
            }
            a => a,
        };
        match action {
            ReadAction::Clear => v &= !f.mask(),
            ReadAction::Set => v |= f.mask(),
            _ => {}
        }
    }
    v
}

/// A register's value after `written` was written to the bits `mask` covers.
fn after_write(r: &Register, current: u64, written: u64, mask: u64) -> u64 {
    if !r.access.writable() {
        return current;
    }
    let all = r.width.max_value();
    let mut new = if r.fields.is_empty() {
        let semantics = if r.access == Access::RW1C { WriteSemantics::OneToClear } else { WriteSemantics::Normal };
        semantics.apply(current, written, all)
    } else {
        // Bits no field names take what is written.
        let mut v = (current & !r.unnamed_bits()) | (written & r.unnamed_bits());
        for f in r.fields.iter() {
            let old = f.extract(current);
            let fv = if r.field_access(f).writable() {
                r.field_write(f).apply(old, f.extract(written), f.max_value())
            } else {
                old
            };
            v = (v & !f.mask()) | ((fv & f.max_value()) << f.lsb);
        }
        v
    };
    new &= all;
    (current & !mask) | (new & mask)
}

impl State {
    fn bar(&mut self, index: u8) -> Option<&mut SimBar> {
        self.bars.iter_mut().find(|b| b.index == index)
    }

    fn load(&mut self, path: &Path, device: &DeviceRef) -> Result<()> {
        // A missing file is a fresh state; anything else must be a regular
        // file of bounded size (a FIFO or /dev/zero is refused, not read).
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // It is written back: another user's link is refused before it is read.
            Ok(m) if m.file_type().is_symlink() => {
                crate::value::check_output_path(path, "a simulated device's state file")
                    .map_err(|e| e.with_device(device.clone()))?;
            }
            _ => {}
        }
        let bytes = crate::value::read_regular_file(path, "a simulated device's state file", MAX_STATE_FILE)
            .map_err(|e| e.with_device(device.clone()))?;
        let bad = |why: String| {
            Error::on(device.clone(), ErrorKind::InvalidValue { input: path.display().to_string(), reason: why })
        };
        let text =
            String::from_utf8(bytes).map_err(|_| bad("not a simulated device's state file: not UTF-8".into()))?;
        let file: StateFile =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a simulated device's state file: {e}")))?;
        for (index, words) in &file.bars {
            let index: u8 = index.parse().map_err(|_| bad(format!("'{index}' is not a BAR")))?;
            let Some(bar) = self.bar(index) else { continue };
            bar.words.clear();
            for (k, v) in words {
                let (k, v) = (crate::value::parse_u64(k), crate::value::parse_u64(v));
                let (Ok(k), Ok(v)) = (k, v) else { return Err(bad("a word that is not a number".into())) };
                if k % 8 == 0 && k < bar.size && v != 0 {
                    bar.words.insert(k, v);
                }
            }
        }
        Ok(())
    }

    fn save(&self, device: &DeviceRef) -> Result<()> {
        let Some(path) = &self.file else { return Ok(()) };
        let file = StateFile {
            mmiodrv_sim_state: 1,
            map: device.to_string(),
            bars: self
                .bars
                .iter()
                .map(|b| {
                    let words = b.words.iter().map(|(k, v)| (format!("{k:#x}"), format!("{v:#018x}"))).collect();
                    (b.index.to_string(), words)
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).unwrap_or_default();
        // A new file beside it, renamed over it (never FILE.tmp written
        // through whatever link may sit there).
        let mut out = crate::value::create_output_file(path).map_err(|e| e.with_device(device.clone()))?;
        std::io::Write::write_all(&mut out, (text + "\n").as_bytes())
            .map_err(|e| Error::io_on(device.clone(), "cannot write", path, e))?;
        out.commit().map_err(|e| e.with_device(device.clone()))
    }
}

impl Backend for SimBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sim
    }

    fn device(&self) -> DeviceRef {
        self.device.clone()
    }

    fn read_config(&self) -> Result<ConfigSpace> {
        let id = self.identity();
        let mut c = vec![0u8; 256];
        c[0..2].copy_from_slice(&id.vendor.to_le_bytes());
        c[2..4].copy_from_slice(&id.device.to_le_bytes());
        c[4..6].copy_from_slice(&0x0002u16.to_le_bytes()); // memory decoding on
        c[8] = id.revision;
        c[9..12].copy_from_slice(&id.class.to_le_bytes()[..3]); // programming interface, subclass, class
        c[0x2c..0x2e].copy_from_slice(&id.subsystem.0.to_le_bytes());
        c[0x2e..0x30].copy_from_slice(&id.subsystem.1.to_le_bytes());
        for b in self.bars()? {
            let at = 0x10 + 4 * b.index as usize;
            c[at..at + 4].copy_from_slice(&(b.address as u32).to_le_bytes());
        }
        Ok(ConfigSpace::new(c))
    }

    fn bars(&self) -> Result<Vec<BarInfo>> {
        let state = self.lock();
        let mut next = 0x8000_0000u64;
        Ok(state
            .bars
            .iter()
            .map(|b| {
                let address = next.next_multiple_of(b.size);
                next = address + b.size;
                BarInfo {
                    index: b.index,
                    kind: BarKind::Memory,
                    address,
                    size: b.size,
                    is_64bit: false,
                    prefetchable: false,
                }
            })
            .collect())
    }

    fn open_bar(&self, bar: u8, options: BarOptions) -> Result<Box<dyn RegisterIo>> {
        let len = self.lock().bar(bar).map(|b| b.size);
        let Some(len) = len else { return Err(Error::on(self.device(), BackendError::BarNotPresent { bar })) };
        Ok(Box::new(SimWindow {
            device: self.device(),
            state: Arc::clone(&self.state),
            bar,
            len,
            writable: options.writable,
        }))
    }
}

/// One BAR of a simulated device.
pub struct SimWindow {
    device: DeviceRef,
    state: Arc<Mutex<State>>,
    bar: u8,
    len: u64,
    writable: bool,
}

impl SimWindow {
    fn with<T>(&self, f: impl FnOnce(&mut SimBar) -> (T, bool)) -> Result<T> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bar) = state.bar(self.bar) else {
            return Err(Error::on(self.device.clone(), BackendError::BarNotPresent { bar: self.bar }));
        };
        let (out, changed) = f(bar);
        if changed {
            state.save(&self.device)?;
        }
        Ok(out)
    }
}

impl RegisterIo for SimWindow {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        check_access(offset, width, self.len)?;
        self.with(|bar| bar.read(offset, width))
    }

    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        width.check_value(value, "access")?;
        if !self.writable {
            return Err(Error::on(self.device.clone(), AccessError::NotWritable));
        }
        check_access(offset, width, self.len)?;
        self.with(|bar| {
            bar.write(offset, width, value);
            ((), true)
        })
    }
}

#[cfg(test)]
mod tests;
