//! [`crate::register_map!`]: one declaration of a device's registers, from
//! which both the name-based map (for `dump-regs`, `read`, `write`) and the
//! typed registers (for drivers) are generated at compile time. The macro's
//! documentation is the one reference of its input syntax.

/// Trim the leading spaces `///` comments leave, at compile time.
#[doc(hidden)]
pub const fn trim(text: &'static str) -> &'static str {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    match std::str::from_utf8(bytes.split_at(i).1) {
        Ok(t) => t,
        Err(_) => text,
    }
}

/// Where `name` is in `names` (the registers of a map, in order), at
/// compile time.
#[doc(hidden)]
pub const fn index_of(names: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        if same(names[i].as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    usize::MAX
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether register `i` of `layout` ((offset, bytes) in order) starts at
/// or after the end of the one before it.
#[doc(hidden)]
pub const fn after_previous(layout: &[(u64, u64)], i: usize) -> bool {
    i == 0 || layout[i - 1].0 + layout[i - 1].1 <= layout[i].0
}

/// Whether no two of `fields` ((msb, lsb)) share a bit.
#[doc(hidden)]
pub const fn disjoint(fields: &[(u32, u32)]) -> bool {
    let mut seen = 0u64;
    let mut i = 0;
    while i < fields.len() {
        let (msb, lsb) = fields[i];
        if msb < lsb || msb >= 64 {
            return false;
        }
        let mask = (u64::MAX >> (63 - (msb - lsb))) << lsb;
        if seen & mask != 0 {
            return false;
        }
        seen |= mask;
        i += 1;
    }
    true
}

/// Whether every one of `values` fits in a field of `bits` bits and no two
/// are the same.
#[doc(hidden)]
pub const fn values_fit(values: &[u64], bits: u32) -> bool {
    let mut i = 0;
    while i < values.len() {
        if bits < 64 && values[i] >> bits != 0 {
            return false;
        }
        let mut j = 0;
        while j < i {
            if values[j] == values[i] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// Declare a register map once; get the map and typed registers.
///
/// This documentation is the reference of the macro's input (the guide,
/// docs/writing-a-driver.md, shows it at work):
///
/// ```text
/// [/// doc]                     the module's documentation
/// VIS mod MODULE {
///     map MAP {
///         name: "NAME",         the map's (and the driver's) name
///         description: "TEXT",
///         bar: N,               the BAR it describes
///         size: Some(BYTES),    or None
///         access: [(START, END, [W8, W16, W32, W64]), ...],  widths the device takes per range; [] for any
///     }
///     [/// description]
///     REG @ OFFSET: TYPE, ACCESS [+ ReadClears] [, reset VALUE] [, access_width W32] {
///         [/// description]
///         FIELD [MSB:LSB] | [BIT]
///             [access RO|RW|WO]     where it differs from the register's
///             [write OneToClear|OneToSet|OneToToggle|ZeroToClear|ZeroToSet|ZeroToToggle|Clear|Set|Modify]
///             [reset VALUE]
///             [= { VALUE: Variant ["name"], ... }],
///         ...
///     }
///     ...
/// }
/// ```
///
/// - `TYPE` is `u8`..`u64` (the access width), `ACCESS` one of `RO`, `RW`,
///   `WO`, `RW1C`; `+ ReadClears` marks a register whose read changes the
///   device; `access_width W32` splits a 64-bit register into two 32-bit
///   accesses (name-based access only). Registers are listed in offset
///   order.
/// - A field's named values are `VALUE: Variant` (the variant of the
///   field's enum, its name on the command line and in output) or
///   `VALUE: Variant "name"` (the name is the text instead, for names that
///   are not identifiers: `2: Gbps "1000 Mb/s"`). Names are matched
///   without regard to case (`write CTRL.MODE fast`).
/// - `write` gives the field's write semantics
///   ([`crate::regmap::WriteSemantics`]; a `RW1C` register's fields are
///   `OneToClear`).
/// - `///` comments become the descriptions.
///
/// Generated, in `MODULE`:
/// - `MAP`: the [`crate::regmap::RegisterMap`] (a `static`) that
///   `dump-regs`, `read`, `write`, the simulated device and the driver
///   list use;
/// - per register, `REG`: a [`crate::regmap::typed::Reg`] (typed access,
///   one volatile access of its width), and a module `REG` with the
///   register's type (`REG::Register`) and per field `REG::FIELD` (a
///   [`crate::regmap::typed::Field`] of that register) and a module
///   `REG::FIELD` with `SET`, `CLEAR` and, for named values, the enum
///   `REG::FIELD::Value` whose variants are also `REG::FIELD::Variant`.
///
/// A mistake in the declaration does not compile: a register not aligned
/// to its width, out of offset order or overlapping the one before, a field
/// outside its register or overlapping another, a named value that does not
/// fit its field or is named twice. [`crate::drivers::validate`] checks the
/// rest (names, access ranges against registers), as tests of a driver do.
///
/// ```
/// mmiodrv::register_map! {
///     /// A tiny device.
///     pub mod regs {
///         map MAP {
///             name: "tiny",
///             description: "A tiny example device",
///             bar: 0,
///             size: Some(0x1000),
///             access: [(0x0, 0x1000, [W32])],
///         }
///         /// Identification
///         ID @ 0x00: u32, RO, reset 0x0100_00ab {
///             /// Major version
///             MAJOR [31:24],
///             /// Magic number
///             MAGIC [7:0] = { 0xab: Tiny "tiny" },
///         }
///         /// Pending events; reading clears them
///         EVENTS @ 0x04: u32, RW1C + ReadClears {
///             DONE [0],
///         }
///         /// Control
///         CTRL @ 0x08: u32, RW {
///             /// Speed
///             SPEED [3:2] = { 0: Slow, 1: Fast },
///             /// Busy (read-only)
///             BUSY [1] access RO,
///             /// Start
///             GO [0],
///         }
///     }
/// }
/// use mmiodrv::mmio::MmioRegion;
/// use regs::{CTRL, EVENTS, ID};
/// let mut bar = MmioRegion::ram(0x1000)?;
/// CTRL.write(&bar, CTRL::GO::SET | CTRL::SPEED::Fast)?;
/// assert_eq!(CTRL::SPEED.read_as(CTRL.read(&bar)?), Some(CTRL::SPEED::Fast));
/// let _events = EVENTS.read(&mut bar)?; // clear-on-read: &mut
/// assert_eq!(ID::MAGIC.get(ID.read(&bar)?), 0); // RAM, not the device: no reset value
/// assert_eq!(regs::MAP.register("ctrl")?.offset, 0x08);
/// assert!(regs::MAP.register("EVENTS")?.read_side_effects);
/// assert_eq!(regs::MAP.register("ID")?.field("MAGIC")?.meaning(0xab), Some("tiny"));
/// assert_eq!(regs::MAP.register("CTRL")?.field("SPEED")?.meaning(1), Some("Fast"));
/// # Ok::<(), mmiodrv::Error>(())
/// ```
#[macro_export]
macro_rules! register_map {
    (
        $(#[doc = $mdoc:literal])*
        $vis:vis mod $module:ident {
            map $map:ident {
                name: $name:literal,
                description: $desc:literal,
                bar: $bar:literal,
                size: $size:expr,
                access: [ $( ($start:literal, $end:literal, [$($w:ident),+ $(,)?]) ),* $(,)? ] $(,)?
            }
            $(
                $(#[doc = $rdoc:literal])*
                $reg:ident @ $off:literal : $ty:ident, $acc:ident $(+ $se:ident)?
                    $(, reset $reset:literal)? $(, access_width $aw:ident)?
                {
                    $(
                        $(#[doc = $fdoc:literal])*
                        $field:ident [$msb:literal $(: $lsb:literal)?]
                            $(access $facc:ident)? $(write $fw:ident)? $(reset $freset:literal)?
                            $(= $values:tt)?
                    ),* $(,)?
                }
            )*
        }
    ) => {
        $(#[doc = $mdoc])*
        #[allow(non_upper_case_globals, non_snake_case, dead_code, clippy::identity_op)]
        $vis mod $module {
            #[allow(unused_imports)]
            use $crate::regmap::typed::RegisterValue as _;

            /// The map, as `dump-regs`, `read` and `write` use it.
            pub static $map: $crate::regmap::RegisterMap = $crate::regmap::RegisterMap {
                name: ::std::borrow::Cow::Borrowed($name),
                description: ::std::borrow::Cow::Borrowed($desc),
                bar: $bar,
                base: 0,
                overlaps: false,
                blocks: ::std::borrow::Cow::Borrowed(&[]),
                size: $size,
                rules: ::std::borrow::Cow::Borrowed(&[$(
                    $crate::regmap::AccessRule {
                        start: $start,
                        end: $end,
                        widths: ::std::borrow::Cow::Borrowed(&[$($crate::mmio::Width::$w),+]),
                    }
                ),*]),
                registers: ::std::borrow::Cow::Borrowed(&[$(
                    $crate::regmap::Register {
                        name: ::std::borrow::Cow::Borrowed(stringify!($reg)),
                        offset: $off,
                        width: <$ty as $crate::regmap::typed::RegisterValue>::WIDTH,
                        access_width: $crate::__regmap_or!(
                            $($crate::mmio::Width::$aw)? ; <$ty as $crate::regmap::typed::RegisterValue>::WIDTH
                        ),
                        word_order: $crate::regmap::WordOrder::Little,
                        access: $crate::regmap::Access::$acc,
                        read_side_effects: $crate::__regmap_present!($($se)?),
                        description: ::std::borrow::Cow::Borrowed(
                            $crate::regmap::macros::trim(concat!($($rdoc),*))
                        ),
                        fields: ::std::borrow::Cow::Borrowed(&[$(
                            $crate::regmap::Field {
                                name: ::std::borrow::Cow::Borrowed(stringify!($field)),
                                msb: $msb,
                                lsb: $crate::__regmap_or!($($lsb)? ; $msb),
                                description: ::std::borrow::Cow::Borrowed(
                                    $crate::regmap::macros::trim(concat!($($fdoc),*))
                                ),
                                values: ::std::borrow::Cow::Borrowed($crate::__regmap_values!($($values)?)),
                                access: $crate::__regmap_some!($($crate::regmap::Access::$facc)?),
                                write: $crate::__regmap_or!(
                                    $($crate::regmap::WriteSemantics::$fw)? ; $crate::regmap::WriteSemantics::Normal
                                ),
                                read_action: $crate::regmap::ReadAction::None,
                                reset: $crate::__regmap_some!($($freset)?),
                            }
                        ),*]),
                        reset: $crate::__regmap_some!($($reset)?),
                    }
                ),*]),
            };

            /// The registers' names, in order (where each is in the map).
            const __REGISTERS: &[&str] = &[$(stringify!($reg)),*];
            /// (offset, bytes) of each register, in order.
            const __LAYOUT: &[(u64, u64)] =
                &[$(($off, <$ty as $crate::regmap::typed::RegisterValue>::WIDTH.bytes())),*];

            $(
                $(#[doc = $rdoc])*
                pub const $reg: $crate::regmap::typed::Reg<
                    $ty,
                    $crate::regmap::typed::$acc,
                    $crate::__regmap_type_or!($($crate::regmap::typed::$se)? ; $crate::regmap::typed::Pure),
                    $reg::Register,
                > = $crate::regmap::typed::Reg::new($off, stringify!($reg));

                #[doc = concat!("Fields of [`", stringify!($reg), "`](const@", stringify!($reg), ").")]
                pub mod $reg {
                    #[allow(unused_imports)]
                    use $crate::regmap::typed::RegisterValue as _;

                    #[doc = concat!("The register ", stringify!($reg), " in the type system: its values and fields are no other register's.")]
                    #[derive(Clone, Copy, Debug)]
                    pub enum Register {}

                    /// Where it is in the map.
                    const __INDEX: usize = $crate::regmap::macros::index_of(super::__REGISTERS, stringify!($reg));

                    impl $crate::regmap::typed::RegisterSpec for Register {
                        fn entry() -> ::std::option::Option<&'static $crate::regmap::Register> {
                            super::$map.registers.get(__INDEX)
                        }
                    }

                    const _: () = {
                        assert!(
                            $off % <$ty as $crate::regmap::typed::RegisterValue>::WIDTH.bytes() == 0,
                            concat!("register ", stringify!($reg), " is not aligned to its width")
                        );
                        assert!(
                            $crate::regmap::macros::after_previous(super::__LAYOUT, __INDEX),
                            concat!("register ", stringify!($reg), " overlaps the register before it, or is listed out of offset order")
                        );
                        assert!(
                            $crate::regmap::macros::disjoint(&[$(($msb, $crate::__regmap_or!($($lsb)? ; $msb))),*]),
                            concat!("two fields of ", stringify!($reg), " share a bit, or a field's bits run backwards")
                        );
                    };

                    $(
                        $(#[doc = $fdoc])*
                        pub const $field: $crate::regmap::typed::Field<
                            $ty,
                            Register,
                            $crate::__regmap_enum_type!($field $(, $values)?),
                        > = {
                            const LSB: u32 = $crate::__regmap_or!($($lsb)? ; $msb);
                            assert!(
                                $msb < <$ty as $crate::regmap::typed::RegisterValue>::WIDTH.bits() && LSB <= $msb,
                                concat!("field ", stringify!($reg), ".", stringify!($field), " lies outside its register")
                            );
                            $crate::regmap::typed::Field::new(LSB, $msb - LSB + 1, stringify!($field))
                        };

                        #[doc = concat!("Values of [`", stringify!($field), "`](const@", stringify!($field), ").")]
                        pub mod $field {
                            /// A value of the field.
                            pub type FieldValue = $crate::regmap::typed::FieldValue<$ty, super::Register>;
                            /// Every bit set.
                            pub const SET: FieldValue = super::$field.ones();
                            /// Every bit clear.
                            pub const CLEAR: FieldValue = super::$field.zero();
                            $($crate::__regmap_enum!($ty, $reg, $field, $values);)?
                        }
                    )*
                }
            )*
        }
    };
}

/// The enum of a field's named values, inside the field's module.
#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_enum {
    ($ty:ident, $reg:ident, $field:ident, { $($val:literal : $variant:ident $($vname:literal)?),* $(,)? }) => {
        #[doc = concat!("The named values of ", stringify!($reg), ".", stringify!($field), ".")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Value {
            $(
                #[doc = concat!("`", stringify!($val), "`: ", $crate::__regmap_or!($($vname)? ; stringify!($variant)))]
                $variant,
            )*
        }
        pub use self::Value::*;

        const _: () = assert!(
            $crate::regmap::macros::values_fit(&[$($val),*], super::$field.bits()),
            concat!("a named value of ", stringify!($reg), ".", stringify!($field), " does not fit the field, or two have one value")
        );

        impl $crate::regmap::typed::FieldEnum for Value {
            fn from_value(value: u64) -> ::std::option::Option<Self> {
                match value {
                    $($val => ::std::option::Option::Some(Value::$variant),)*
                    _ => ::std::option::Option::None,
                }
            }
            fn value(self) -> u64 {
                match self {
                    $(Value::$variant => $val,)*
                }
            }
        }

        impl ::std::convert::From<Value> for FieldValue {
            fn from(v: Value) -> FieldValue {
                match super::$field.checked($crate::regmap::typed::FieldEnum::value(v)) {
                    ::std::option::Option::Some(fv) => fv,
                    // Checked at compile time above.
                    ::std::option::Option::None => super::$field.zero(),
                }
            }
        }

        impl<X: ::std::convert::Into<FieldValue>> ::std::ops::BitOr<X> for Value {
            type Output = FieldValue;
            fn bitor(self, other: X) -> FieldValue {
                FieldValue::from(self) | other
            }
        }

        impl $crate::regmap::typed::WriteValue<$ty, super::Register> for Value {
            fn word(self) -> $crate::regmap::typed::Word {
                $crate::regmap::typed::WriteValue::word(FieldValue::from(self))
            }
        }
    };
}

/// A field's enum type: its `Value`, or `NoNames`.
#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_enum_type {
    ($field:ident) => {
        $crate::regmap::typed::NoNames
    };
    ($field:ident, $values:tt) => {
        $field::Value
    };
}

/// A field's named values, for the map.
#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_values {
    () => {
        &[]
    };
    ({ $($val:literal : $variant:ident $($vname:literal)?),* $(,)? }) => {
        &[$(($val, ::std::borrow::Cow::Borrowed($crate::__regmap_or!($($vname)? ; stringify!($variant))))),*]
    };
}

/// A field's value checked at compile time: `field_value!(regs::CTRL::MODE, 3)`
/// is the value 3 of CTRL.MODE, and a value that does not fit does not
/// compile (at run time, [`crate::regmap::typed::Field::val`] refuses it).
///
/// ```
/// # mmiodrv::register_map! {
/// #     pub mod regs {
/// #         map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
/// #         CTRL @ 0x0: u32, RW { MODE [2:1] }
/// #     }
/// # }
/// let fast = mmiodrv::field_value!(regs::CTRL::MODE, 3);
/// assert_eq!(fast.value(), 0b110);
/// ```
///
/// ```compile_fail
/// # mmiodrv::register_map! {
/// #     pub mod regs {
/// #         map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
/// #         CTRL @ 0x0: u32, RW { MODE [2:1] }
/// #     }
/// # }
/// let too_big = mmiodrv::field_value!(regs::CTRL::MODE, 4);
/// ```
#[macro_export]
macro_rules! field_value {
    ($($field:ident)::+, $value:expr) => {{
        const VALUE: $($field)::+::FieldValue = match $($field)::+.checked($value) {
            ::std::option::Option::Some(v) => v,
            ::std::option::Option::None => panic!("the value does not fit the field"),
        };
        VALUE
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_or {
    (; $default:expr) => {
        $default
    };
    ($value:expr ; $default:expr) => {
        $value
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_type_or {
    (; $default:ty) => {
        $default
    };
    ($value:ty ; $default:ty) => {
        $value
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_some {
    () => {
        None
    };
    ($value:expr) => {
        Some($value)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __regmap_present {
    () => {
        false
    };
    ($($t:tt)+) => {
        true
    };
}
