//! [`crate::register_map!`]: one declaration of a device's registers, from
//! which both the name-based map (for `dump-regs`, `read`, `write`) and the
//! typed registers (for drivers) are generated at compile time.

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

/// Declare a register map once; get the map and typed registers.
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
///             MAGIC [7:0] = { 0xab: "tiny" },
///         }
///         /// Pending events; reading clears them
///         EVENTS @ 0x04: u32, RW1C + ReadClears {
///             DONE [0],
///         }
///         /// Control
///         CTRL @ 0x08: u32, RW {
///             /// Busy (read-only)
///             BUSY [1] access RO,
///             /// Start
///             GO [0],
///         }
///     }
/// }
/// use mmiodrv::mmio::MmioRegion;
/// let mut bar = MmioRegion::ram(0x1000)?;
/// regs::CTRL.write(&bar, regs::CTRL::GO.val(1))?;
/// let _events = regs::EVENTS.read(&mut bar)?; // clear-on-read: &mut
/// assert_eq!(regs::MAP.register("ctrl")?.offset, 0x08);
/// assert!(regs::MAP.register("EVENTS")?.read_side_effects);
/// assert_eq!(regs::MAP.register("ID")?.field("MAGIC")?.meaning(0xab), Some("tiny"));
/// # Ok::<(), mmiodrv::Error>(())
/// ```
///
/// Per register: `NAME @ OFFSET: TYPE, ACCESS [+ ReadClears] [, reset VALUE]
/// [, access_width W32] { FIELDS }`, where TYPE is `u8`..`u64` (the access
/// width), ACCESS one of `RO`, `RW`, `WO`, `RW1C`, and `access_width W32`
/// splits a 64-bit register into two 32-bit accesses (name-based access only).
/// Per field: `NAME [MSB:LSB]` or `NAME [BIT]`, then optionally
/// `access RO|RW|WO`, `write OneToClear|OneToSet|...` (see
/// [`crate::regmap::WriteSemantics`]), `reset VALUE`, `= { VALUE: "name", ... }`.
/// `///` comments become the descriptions. Registers must be listed in
/// offset order; `crate::regmap::validate` checks the rest (drivers test it).
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
                            $(= { $($val:literal : $vname:literal),* $(,)? })?
                    ),* $(,)?
                }
            )*
        }
    ) => {
        $(#[doc = $mdoc])*
        #[allow(non_upper_case_globals, dead_code, clippy::identity_op)]
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
                                values: ::std::borrow::Cow::Borrowed(&[$($(
                                    ($val, ::std::borrow::Cow::Borrowed($vname))
                                ),*)?]),
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

            $(
                $(#[doc = $rdoc])*
                pub const $reg: $crate::regmap::typed::Reg<$ty, $crate::regmap::typed::$acc $(, $crate::regmap::typed::$se)?> =
                    $crate::regmap::typed::Reg::new($off, stringify!($reg));

                #[doc = concat!("Fields of [`", stringify!($reg), "`](const@", stringify!($reg), ").")]
                #[allow(non_snake_case, dead_code)]
                pub mod $reg {
                    $(
                        $(#[doc = $fdoc])*
                        pub const $field: $crate::regmap::typed::Field<$ty> = $crate::regmap::typed::Field::new(
                            $crate::__regmap_or!($($lsb)? ; $msb),
                            $msb - $crate::__regmap_or!($($lsb)? ; $msb) + 1,
                            stringify!($field),
                        );
                    )*
                }
            )*
        }
    };
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
