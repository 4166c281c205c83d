//! Typed registers, by value, over any [`RegisterIo`].
//!
//! A [`Reg`] is an offset with a value type, an access type and a read kind,
//! declared once by [`crate::register_map!`] next to the name-based map the
//! command line uses. Reading it is exactly one access of its width through
//! [`RegisterIo::read`]; no Rust reference into device memory is ever formed,
//! so the compiler cannot add or repeat reads.
//!
//! The types encode the rules of the datasheet:
//! - only [`Readable`] registers have `read`, only [`Writable`] ones `write`;
//! - a register whose read has side effects (clear-on-read) is a
//!   `Reg<_, _, ReadClears>`, and its `read` takes the window by `&mut`, so a
//!   consuming read is visibly different from a pure one at the call site.
//!
//! ```
//! use mmiodrv::mmio::{MmioRegion, RegisterIo};
//! use mmiodrv::regmap::typed::{Reg, Field, RO, RW, ReadClears};
//!
//! const ID: Reg<u32, RO> = Reg::new(0x00, "ID");
//! const STATUS: Reg<u32, RW, ReadClears> = Reg::new(0x04, "STATUS");
//! const MAJOR: Field<u32> = Field::new(24, 8, "MAJOR");
//!
//! let mut bar = MmioRegion::ram(4096)?;
//! bar.write(0, mmiodrv::mmio::Width::W32, 0x0100_00ed)?;
//! assert_eq!(MAJOR.get(ID.read(&bar)?), 1);
//! let _pending = STATUS.read(&mut bar)?; // consuming: needs &mut
//! # Ok::<(), mmiodrv::Error>(())
//! ```

use std::marker::PhantomData;

use crate::error::Result;
use crate::mmio::{RegisterIo, Width};

/// Integer types a register can hold.
pub trait RegisterValue: Copy + Eq + std::fmt::Debug {
    /// The access width of this type.
    const WIDTH: Width;
    /// Truncating conversion from a raw access (the access has this width, so
    /// nothing is lost).
    fn from_raw(raw: u64) -> Self;
    /// Widening conversion for a raw access.
    fn into_raw(self) -> u64;
}

macro_rules! register_value {
    ($($t:ty => $w:ident),*) => {$(
        impl RegisterValue for $t {
            const WIDTH: Width = Width::$w;
            #[inline]
            fn from_raw(raw: u64) -> Self {
                raw as $t
            }
            #[inline]
            fn into_raw(self) -> u64 {
                self as u64
            }
        }
    )*};
}
register_value!(u8 => W8, u16 => W16, u32 => W32, u64 => W64);

/// Access types with a meaningful read.
pub trait Readable {}
/// Access types where a write has an effect.
pub trait Writable {}

/// Read-only register.
#[derive(Clone, Copy, Debug)]
pub struct RO;
/// Read-write register.
#[derive(Clone, Copy, Debug)]
pub struct RW;
/// Write-only register.
#[derive(Clone, Copy, Debug)]
pub struct WO;
/// Read, write 1 to clear.
#[derive(Clone, Copy, Debug)]
pub struct RW1C;

impl Readable for RO {}
impl Readable for RW {}
impl Readable for RW1C {}
impl Writable for RW {}
impl Writable for WO {}
impl Writable for RW1C {}

/// A read without side effects (the default).
#[derive(Clone, Copy, Debug)]
pub struct Pure;
/// A read that changes the device (clear-on-read): `read` needs `&mut`.
#[derive(Clone, Copy, Debug)]
pub struct ReadClears;

/// The marker types of a register, kept only at compile time.
type Markers<T, A, S> = PhantomData<fn() -> (T, A, S)>;

/// A register: offset, value type `T`, access `A`, read kind `S`.
pub struct Reg<T, A, S = Pure> {
    offset: u64,
    name: &'static str,
    _types: Markers<T, A, S>,
}

impl<T, A, S> Clone for Reg<T, A, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, A, S> Copy for Reg<T, A, S> {}

impl<T, A, S> std::fmt::Debug for Reg<T, A, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{:#x}", self.name, self.offset)
    }
}

impl<T: RegisterValue, A, S> Reg<T, A, S> {
    /// A register at `offset` of its window.
    pub const fn new(offset: u64, name: &'static str) -> Self {
        Reg { offset, name, _types: PhantomData }
    }

    /// Its offset.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Its name in the map.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Its access width.
    pub const fn width(&self) -> Width {
        T::WIDTH
    }
}

impl<T: RegisterValue, A: Readable> Reg<T, A, Pure> {
    /// One access of the register's width.
    #[inline]
    pub fn read(&self, io: &(impl RegisterIo + ?Sized)) -> Result<T> {
        io.read(self.offset, T::WIDTH).map(T::from_raw)
    }
}

impl<T: RegisterValue, A: Readable> Reg<T, A, ReadClears> {
    /// One access of the register's width. Reading changes the device, so
    /// this takes the window by `&mut`.
    #[inline]
    pub fn read(&self, io: &mut (impl RegisterIo + ?Sized)) -> Result<T> {
        io.read(self.offset, T::WIDTH).map(T::from_raw)
    }
}

impl<T: RegisterValue, A: Writable, S> Reg<T, A, S> {
    /// One access of the register's width.
    #[inline]
    pub fn write(&self, io: &(impl RegisterIo + ?Sized), value: T) -> Result<()> {
        io.write(self.offset, T::WIDTH, value.into_raw())
    }
}

impl<T: RegisterValue> Reg<T, RW, Pure> {
    /// Read, change with `f`, write back: two accesses.
    pub fn modify(&self, io: &(impl RegisterIo + ?Sized), f: impl FnOnce(T) -> T) -> Result<T> {
        let new = f(self.read(io)?);
        self.write(io, new)?;
        Ok(new)
    }
}

/// A bit field of a register holding `T`.
pub struct Field<T> {
    lsb: u32,
    bits: u32,
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Field<T> {}

impl<T> std::fmt::Debug for Field<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}:{}]", self.name, self.lsb + self.bits - 1, self.lsb)
    }
}

impl<T: RegisterValue> Field<T> {
    /// `bits` bits from bit `lsb`.
    pub const fn new(lsb: u32, bits: u32, name: &'static str) -> Self {
        assert!(bits >= 1 && lsb + bits <= T::WIDTH.bits(), "field outside its register");
        Field { lsb, bits, name, _type: PhantomData }
    }

    /// Its name in the map.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Lowest bit.
    pub const fn lsb(&self) -> u32 {
        self.lsb
    }

    fn max(&self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }

    /// The field's bits in place.
    pub fn mask(&self) -> T {
        T::from_raw(self.max() << self.lsb)
    }

    /// The field's value in a register value.
    pub fn get(&self, register: T) -> T {
        T::from_raw((register.into_raw() >> self.lsb) & self.max())
    }

    /// Whether any bit of the field is set.
    pub fn is_set(&self, register: T) -> bool {
        self.get(register).into_raw() != 0
    }

    /// `value` shifted into place (bits beyond the field are dropped).
    pub fn val(&self, value: T) -> T {
        T::from_raw((value.into_raw() & self.max()) << self.lsb)
    }

    /// `register` with the field replaced by `value`.
    pub fn set(&self, register: T, value: T) -> T {
        let mask = self.max() << self.lsb;
        T::from_raw((register.into_raw() & !mask) | self.val(value).into_raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::MmioRegion;

    const SCRATCH: Reg<u32, RW> = Reg::new(0x04, "SCRATCH");
    const WIDE: Reg<u64, RW> = Reg::new(0x08, "WIDE");
    const DOORBELL: Reg<u16, WO> = Reg::new(0x10, "DOORBELL");
    const PENDING: Reg<u32, RW1C, ReadClears> = Reg::new(0x14, "PENDING");
    const LOW: Field<u32> = Field::new(0, 4, "LOW");
    const HIGH: Field<u32> = Field::new(28, 4, "HIGH");

    #[test]
    fn one_access_of_the_declared_width() {
        let mut r = MmioRegion::ram(4096).unwrap();
        SCRATCH.write(&r, 0x1234_5678).unwrap();
        assert_eq!(r.read(4, Width::W32).unwrap(), 0x1234_5678);
        WIDE.write(&r, u64::MAX).unwrap();
        assert_eq!(WIDE.read(&r).unwrap(), u64::MAX);
        DOORBELL.write(&r, 0xabcd).unwrap();
        assert_eq!(r.read(0x10, Width::W32).unwrap(), 0xabcd, "a 16-bit store touches two bytes");
        r.write(0x14, Width::W32, 7).unwrap();
        assert_eq!(PENDING.read(&mut r).unwrap(), 7);
        assert_eq!(SCRATCH.modify(&r, |v| HIGH.set(v, 0xf)).unwrap(), 0xf234_5678);
        assert_eq!(LOW.get(0xf234_5678), 8);
        assert!(HIGH.is_set(0xf000_0000));
        assert_eq!(HIGH.mask(), 0xf000_0000);
        assert_eq!(format!("{SCRATCH:?} {HIGH:?}"), "SCRATCH@0x4 HIGH[31:28]");
    }

    #[test]
    fn errors_pass_through() {
        let r = MmioRegion::ram(4096).unwrap();
        let far: Reg<u32, RO> = Reg::new(4096, "FAR");
        assert!(far.read(&r).is_err());
    }
}
