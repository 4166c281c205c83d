//! Typed registers, by value, over any [`RegisterIo`].
//!
//! A [`Reg`] is an offset with a value type, an access type, a read kind and
//! the register it is, declared once by [`crate::register_map!`] next to the
//! name-based map the command line uses. Reading it is exactly one access of
//! its width through [`RegisterIo::read`]; no Rust reference into device
//! memory is ever formed, so the compiler cannot add or repeat reads.
//!
//! The types encode the rules of the datasheet:
//! - only [`Readable`] registers have `read`, only [`Writable`] ones
//!   `write`, only read-write ones `modify`;
//! - a register whose read has side effects (clear-on-read) is a
//!   `Reg<_, _, ReadClears>`, and its `read` takes the window by `&mut`, so a
//!   consuming read is visibly different from a pure one at the call site;
//! - each register is a type of its own (`regs::CTRL::Register`, the `R` of
//!   `Reg<T, A, S, R>`): a value read ([`Bits`]), a field ([`Field`]) and a
//!   field's value ([`FieldValue`]) belong to one register, and using
//!   CTRL's field on STATUS's value, or writing STATUS's field values to
//!   CTRL, does not compile;
//! - values are checked: [`Field::val`] refuses a value that does not fit
//!   (an error, never truncated), [`crate::field_value!`] refuses it at
//!   compile time, and a field with named values has an enum
//!   (`regs::CTRL::MODE::Fast`) that is a value of it;
//! - `modify` follows each field's write semantics, as a field write by name
//!   does ([`crate::regmap::plan_write`] plans both): fields that are not
//!   changed keep their value, and write-1-to-clear (or -set, -toggle) fields
//!   are written their "no effect" value unless the change names them, so a
//!   read-modify-write never acknowledges a pending event by accident.
//!
//! This is tock-registers' model (`modify(CTRL::MODE::Fast + ...)`, typed
//! fields and enums) made by value over a window instead of through a
//! reference into MMIO, with svd2rust's rule for write-1-to-clear fields
//! in `modify`.
//!
//! ```
//! mmiodrv::register_map! {
//!     /// A made-up LED controller.
//!     pub mod regs {
//!         map MAP { name: "blinky", description: "A blinking LED", bar: 0, size: Some(0x1000), access: [] }
//!         /// Control
//!         CTRL @ 0x00: u32, RW {
//!             /// Blink speed
//!             MODE [2:1] = { 0: Off, 1: Slow, 2: Medium, 3: Fast },
//!             /// Pending event (write 1 to acknowledge)
//!             PEND [3] write OneToClear,
//!             /// Enable
//!             ENABLE [0],
//!         }
//!         /// Status
//!         STATUS @ 0x04: u32, RO { READY [0] }
//!     }
//! }
//! use regs::{CTRL, STATUS};
//!
//! let dev = mmiodrv::device::Device::sim(&regs::MAP)?;
//! let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
//! CTRL.write(&*bar, CTRL::MODE::Slow | CTRL::PEND::SET)?; // a fresh value (PEND: nothing pending)
//! CTRL.modify(&*bar, CTRL::MODE::Fast | CTRL::ENABLE::SET)?; // PEND written 0: left alone
//! let ctrl = CTRL.read(&*bar)?;
//! assert_eq!(CTRL::MODE.read_as(ctrl), Some(CTRL::MODE::Fast));
//! assert!(ctrl.is_set(CTRL::ENABLE));
//! assert!(CTRL::ENABLE.val(2).is_err()); // does not fit: an error, not 0
//! assert!(!STATUS.read(&*bar)?.is_set(STATUS::READY));
//! # Ok::<(), mmiodrv::Error>(())
//! ```

use std::marker::PhantomData;

use crate::error::{ErrorKind, Result};
use crate::mmio::{RegisterIo, Width};
use crate::regmap::model::Register;

/// Integer types a register can hold.
pub trait RegisterValue: Copy + Eq + std::fmt::Debug + std::fmt::LowerHex {
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

        impl<R> From<Bits<$t, R>> for $t {
            fn from(bits: Bits<$t, R>) -> $t {
                bits.bits
            }
        }

        impl<R> WriteValue<$t, R> for $t {
            fn word(self) -> Word {
                Word::Exact(self.into_raw())
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

/// Which register a typed register, its values and its fields are: the
/// marker type [`crate::register_map!`] declares for each register
/// (`regs::CTRL::Register`), or `()` for a register declared by hand
/// ([`Reg::new`]), which has no fields of its own.
pub trait RegisterSpec: 'static {
    /// The register in its map: the write semantics of its fields, which
    /// `modify` and `write` follow. None for `()`.
    fn entry() -> Option<&'static Register>;
}

impl RegisterSpec for () {
    fn entry() -> Option<&'static Register> {
        None
    }
}

/// The marker types of a register, kept only at compile time.
type Markers<T, A, S, R> = PhantomData<fn() -> (T, A, S, R)>;

/// A register: offset, value type `T`, access `A`, read kind `S`, and the
/// register `R` it is (see [`RegisterSpec`]).
pub struct Reg<T, A, S = Pure, R = ()> {
    offset: u64,
    name: &'static str,
    _types: Markers<T, A, S, R>,
}

impl<T, A, S, R> Clone for Reg<T, A, S, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, A, S, R> Copy for Reg<T, A, S, R> {}

impl<T, A, S, R> std::fmt::Debug for Reg<T, A, S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{:#x}", self.name, self.offset)
    }
}

impl<T: RegisterValue, A, S, R> Reg<T, A, S, R> {
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

    fn read_raw(&self, io: &(impl RegisterIo + ?Sized)) -> Result<T> {
        io.read(self.offset, T::WIDTH).map(T::from_raw)
    }
}

impl<T: RegisterValue, A: Readable, R> Reg<T, A, Pure, R> {
    /// One access of the register's width.
    #[inline]
    pub fn read(&self, io: &(impl RegisterIo + ?Sized)) -> Result<Bits<T, R>> {
        self.read_raw(io).map(Bits::new)
    }
}

impl<T: RegisterValue, A: Readable, R> Reg<T, A, ReadClears, R> {
    /// One access of the register's width. Reading changes the device, so
    /// this takes the window by `&mut`.
    #[inline]
    pub fn read(&self, io: &mut (impl RegisterIo + ?Sized)) -> Result<Bits<T, R>> {
        self.read_raw(io).map(Bits::new)
    }
}

impl<T: RegisterValue, A: Writable, S, R: RegisterSpec> Reg<T, A, S, R> {
    /// One access of the register's width, writing:
    /// - a number (`T`) or a value read ([`Bits`]): exactly that;
    /// - field values ([`FieldValue`], a field's named value, several
    ///   joined with `|`): those fields as given, every other field 0,
    ///   except fields whose "no effect" value is not 0 (write-0-to-clear:
    ///   1s), so a write of fields changes no field it does not name
    ///   through its write semantics. Nothing is read. A read-only field
    ///   among them is refused before anything is written.
    pub fn write(&self, io: &(impl RegisterIo + ?Sized), value: impl WriteValue<T, R>) -> Result<()> {
        let word = match value.word() {
            Word::Exact(word) => word,
            Word::Fields { mask, value } => match R::entry() {
                Some(reg) => crate::regmap::plan_fresh_write(reg, mask)?.word(0, mask, value),
                None => value,
            },
        };
        io.write(self.offset, T::WIDTH, word)
    }
}

impl<T: RegisterValue, R: RegisterSpec> Reg<T, RW, Pure, R> {
    /// Change the fields `changes` names (a [`FieldValue`], a named value,
    /// several joined with `|`) and leave every other field as it is, as a
    /// field write by name does ([`crate::regmap::plan_write`]): the
    /// register is read (one access) when some other field must keep its
    /// value, then written (one access). Write-1-to-clear and the other
    /// fields with write semantics are written their "no effect" value
    /// unless `changes` names them, so nothing pending is acknowledged by
    /// accident. Refused before any access when a field of `changes` is
    /// read-only, or when another field changes on any write. Returns the
    /// value written.
    pub fn modify(&self, io: &(impl RegisterIo + ?Sized), changes: impl Into<FieldValue<T, R>>) -> Result<Bits<T, R>> {
        let changes = changes.into();
        let plan = match R::entry() {
            Some(reg) => crate::regmap::plan_write(reg, changes.mask)?,
            None => crate::regmap::FieldWritePlan { read_first: true, keep_mask: u64::MAX, ones_mask: 0 },
        };
        let current = if plan.read_first { self.read_raw(io)?.into_raw() } else { 0 };
        let word = plan.word(current, changes.mask, changes.value) & T::WIDTH.max_value();
        io.write(self.offset, T::WIDTH, word)?;
        Ok(Bits::new(T::from_raw(word)))
    }
}

/// A value of register `R`: what its `read` returns, what `write` takes.
/// Its fields are read with `R`'s fields only.
pub struct Bits<T, R = ()> {
    bits: T,
    _register: PhantomData<fn() -> R>,
}

impl<T: Copy, R> Clone for Bits<T, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Copy, R> Copy for Bits<T, R> {}

impl<T: PartialEq, R> PartialEq for Bits<T, R> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<T: Eq, R> Eq for Bits<T, R> {}

/// A value compares with a number: `LIVENESS.read(io)? == !written`.
impl<T: RegisterValue, R> PartialEq<T> for Bits<T, R> {
    fn eq(&self, other: &T) -> bool {
        self.bits == *other
    }
}

impl<T: RegisterValue, R> std::fmt::Debug for Bits<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.bits)
    }
}

impl<T: RegisterValue, R> std::fmt::LowerHex for Bits<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::LowerHex::fmt(&self.bits, f)
    }
}

impl<T: RegisterValue, R> Bits<T, R> {
    /// The value `bits` of register `R`.
    pub const fn new(bits: T) -> Self {
        Bits { bits, _register: PhantomData }
    }

    /// The number.
    pub const fn bits(self) -> T {
        self.bits
    }

    /// A field's value (see [`Field::get`]).
    pub fn get<E>(self, field: Field<T, R, E>) -> T {
        field.get(self)
    }

    /// Whether any bit of a field is set.
    pub fn is_set<E>(self, field: Field<T, R, E>) -> bool {
        field.is_set(self)
    }

    /// Whether the fields `value` names hold its values.
    pub fn matches(self, value: impl Into<FieldValue<T, R>>) -> bool {
        let v = value.into();
        self.bits.into_raw() & v.mask == v.value
    }

    /// This value with the fields `changes` names replaced (a local copy:
    /// nothing is accessed).
    pub fn with(self, changes: impl Into<FieldValue<T, R>>) -> Self {
        let v = changes.into();
        Bits::new(T::from_raw((self.bits.into_raw() & !v.mask) | v.value))
    }
}

impl<T: RegisterValue, R> WriteValue<T, R> for Bits<T, R> {
    fn word(self) -> Word {
        Word::Exact(self.bits.into_raw())
    }
}

/// What a typed register's `write` takes: a number or a value read
/// (written as it is), or values of its fields.
pub trait WriteValue<T, R> {
    /// The word, or the fields, to write.
    #[doc(hidden)]
    fn word(self) -> Word;
}

/// What [`WriteValue::word`] gives.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Word {
    /// Written as it is.
    Exact(u64),
    /// Fields under `mask`, the others as their write semantics want.
    Fields {
        /// The fields' bits.
        mask: u64,
        /// Their values, in place.
        value: u64,
    },
}

/// A field with named values' enum (generated by [`crate::register_map!`]:
/// `regs::CTRL::MODE::Value`, whose variants are also
/// `regs::CTRL::MODE::Fast`...).
pub trait FieldEnum: Copy + Sized {
    /// The variant for `value`, if it has a name.
    fn from_value(value: u64) -> Option<Self>;
    /// Its value.
    fn value(self) -> u64;
}

/// No enum: the field has no named values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoNames {}

/// A bit field of register `R` holding `T`, whose named values (if any)
/// are the enum `E`.
pub struct Field<T, R = (), E = NoNames> {
    lsb: u32,
    bits: u32,
    name: &'static str,
    _types: FieldMarkers<T, R, E>,
}

/// The marker types of a field, kept only at compile time.
type FieldMarkers<T, R, E> = PhantomData<fn() -> (T, R, E)>;

impl<T, R, E> Clone for Field<T, R, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, R, E> Copy for Field<T, R, E> {}

impl<T, R, E> std::fmt::Debug for Field<T, R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}:{}]", self.name, self.lsb + self.bits - 1, self.lsb)
    }
}

impl<T: RegisterValue, R, E> Field<T, R, E> {
    /// `bits` bits from bit `lsb` (in a `const`, a field outside its
    /// register does not compile).
    pub const fn new(lsb: u32, bits: u32, name: &'static str) -> Self {
        assert!(bits >= 1 && lsb + bits <= T::WIDTH.bits(), "field outside its register");
        Field { lsb, bits, name, _types: PhantomData }
    }

    /// Its name in the map.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Lowest bit.
    pub const fn lsb(&self) -> u32 {
        self.lsb
    }

    /// Width in bits.
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// The largest value that fits.
    pub const fn max(&self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }

    /// The field's bits in place.
    pub fn mask(&self) -> T {
        T::from_raw(self.max() << self.lsb)
    }

    /// The field's value in a value of its register.
    pub fn get(&self, register: Bits<T, R>) -> T {
        T::from_raw((register.bits.into_raw() >> self.lsb) & self.max())
    }

    /// Whether any bit of the field is set.
    pub fn is_set(&self, register: Bits<T, R>) -> bool {
        self.get(register).into_raw() != 0
    }

    /// `value` as this field's value: refused (an error naming the field
    /// and its width) when it does not fit, never truncated.
    pub fn val(&self, value: T) -> Result<FieldValue<T, R>> {
        self.checked(value.into_raw()).ok_or_else(|| {
            ErrorKind::ValueTooLarge {
                value: value.into_raw(),
                what: format!("field {}", self.name),
                bits: self.bits,
                max: self.max(),
            }
            .into()
        })
    }

    /// `value` as this field's value, or None when it does not fit (for
    /// `const`s: [`crate::field_value!`]).
    pub const fn checked(&self, value: u64) -> Option<FieldValue<T, R>> {
        if value > self.max() {
            return None;
        }
        Some(FieldValue::from_parts(self.max() << self.lsb, value << self.lsb))
    }

    /// Every bit of the field set (`regs::CTRL::ENABLE::SET`).
    pub const fn ones(&self) -> FieldValue<T, R> {
        FieldValue::from_parts(self.max() << self.lsb, self.max() << self.lsb)
    }

    /// Every bit of the field clear (`regs::CTRL::ENABLE::CLEAR`).
    pub const fn zero(&self) -> FieldValue<T, R> {
        FieldValue::from_parts(self.max() << self.lsb, 0)
    }
}

impl<T: RegisterValue, R, E: FieldEnum> Field<T, R, E> {
    /// The field's value in a value of its register, by name: None for a
    /// value the map does not name.
    pub fn read_as(&self, register: Bits<T, R>) -> Option<E> {
        E::from_value(self.get(register).into_raw())
    }
}

/// Values of some fields of register `R`: a field's value
/// ([`Field::val`], [`Field::checked`], `FIELD::SET`, a named value) or
/// several joined with `|` (a field given twice: the last value). What
/// `modify` changes and `write` writes.
pub struct FieldValue<T, R = ()> {
    mask: u64,
    value: u64,
    _types: PhantomData<fn() -> (T, R)>,
}

impl<T, R> Clone for FieldValue<T, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, R> Copy for FieldValue<T, R> {}

impl<T, R> PartialEq for FieldValue<T, R> {
    fn eq(&self, other: &Self) -> bool {
        (self.mask, self.value) == (other.mask, other.value)
    }
}
impl<T, R> Eq for FieldValue<T, R> {}

impl<T, R> std::fmt::Debug for FieldValue<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x} under {:#x}", self.value, self.mask)
    }
}

impl<T: RegisterValue, R> FieldValue<T, R> {
    /// The bits `mask` holding `value` (already in place and checked).
    const fn from_parts(mask: u64, value: u64) -> Self {
        FieldValue { mask, value: value & mask, _types: PhantomData }
    }

    /// The bits of the fields it sets.
    pub fn mask(&self) -> T {
        T::from_raw(self.mask)
    }

    /// Their values, in place.
    pub fn value(&self) -> T {
        T::from_raw(self.value)
    }
}

impl<T: RegisterValue, R, X: Into<FieldValue<T, R>>> std::ops::BitOr<X> for FieldValue<T, R> {
    type Output = FieldValue<T, R>;
    fn bitor(self, other: X) -> FieldValue<T, R> {
        let other = other.into();
        FieldValue::from_parts(self.mask | other.mask, (self.value & !other.mask) | other.value)
    }
}

impl<T, R> WriteValue<T, R> for FieldValue<T, R> {
    fn word(self) -> Word {
        Word::Fields { mask: self.mask, value: self.value }
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
        SCRATCH.write(&r, 0x1234_5678u32).unwrap();
        assert_eq!(r.read(4, Width::W32).unwrap(), 0x1234_5678);
        WIDE.write(&r, u64::MAX).unwrap();
        assert_eq!(WIDE.read(&r).unwrap(), u64::MAX);
        DOORBELL.write(&r, 0xabcdu16).unwrap();
        assert_eq!(r.read(0x10, Width::W32).unwrap(), 0xabcd, "a 16-bit store touches two bytes");
        r.write(0x14, Width::W32, 7).unwrap();
        assert_eq!(PENDING.read(&mut r).unwrap(), 7);
        assert_eq!(SCRATCH.modify(&r, HIGH.ones()).unwrap(), 0xf234_5678);
        let v = SCRATCH.read(&r).unwrap();
        assert_eq!((LOW.get(v), v.get(HIGH), HIGH.is_set(v)), (8, 0xf, true));
        assert_eq!(HIGH.mask(), 0xf000_0000);
        assert_eq!(format!("{SCRATCH:?} {HIGH:?} {v:?}"), "SCRATCH@0x4 HIGH[31:28] 0xf2345678");
        assert_eq!(u32::from(v), 0xf234_5678);
    }

    #[test]
    fn values_are_checked_never_truncated() {
        assert!(matches!(LOW.val(16).unwrap_err().kind(), ErrorKind::ValueTooLarge { bits: 4, max: 15, .. }));
        assert_eq!(LOW.val(15).unwrap(), LOW.ones());
        assert_eq!(LOW.checked(16), None);
        let both = LOW.val(3).unwrap() | HIGH.val(1).unwrap();
        assert_eq!((both.mask(), both.value()), (0xf000_000f, 0x1000_0003));
        let again = both | LOW.zero();
        assert_eq!(again.value(), 0x1000_0000, "a field given twice: the last value");
        let v: Bits<u32> = Bits::new(0x55);
        assert_eq!(v.with(LOW.val(0xa).unwrap()).bits(), 0x5a);
        assert!(v.matches(LOW.val(5).unwrap()) && !v.matches(LOW.val(4).unwrap()));
    }

    #[test]
    fn errors_pass_through() {
        let r = MmioRegion::ram(4096).unwrap();
        let far: Reg<u32, RO> = Reg::new(4096, "FAR");
        assert!(far.read(&r).is_err());
    }
}
