//! A C header of a map: for each register its BAR offset, width and reset;
//! for each field its mask, shift (bit position), width and reset; for each
//! named value its number. Names are `MAP_[BLOCK_]REGISTER_...` in capitals,
//! made identifiers (`CH[1]_SRC` → `CH_1__SRC`):
//!
//! ```c
//! #define EDU_ID_OFFSET 0x0
//! #define EDU_ID_MAGIC_MASK 0xffULL
//! #define EDU_ID_MAGIC_SHIFT 0
//! #define EDU_DMA_CMD_DIRECTION_DEVICE_TO_RAM 0x1ULL
//! ```
//!
//! For a SystemRDL map, the offsets equal `offsetof` of `peakrdl c-header`'s
//! structs and the masks and shifts its `_bm` and `_bp` macros
//! (tests/regmap_generate.rs compiles both headers together to check).

use std::fmt::Write;

use super::{banner, identifier, split_name};
use crate::regmap::formats::reading::register_reset;
use crate::regmap::model::RegisterMap;

/// The C name of a map, block, register or field part.
fn upper(name: &str) -> String {
    identifier(name).to_ascii_uppercase()
}

/// The header's text.
pub fn header(map: &RegisterMap, origin: &str) -> String {
    let top = upper(&map.name);
    let guard = format!("MMIODRV_{top}_REGS_H");
    let mut s = String::new();
    let _ = writeln!(s, "/* {} */", banner(origin));
    let _ = writeln!(s, "#ifndef {guard}\n#define {guard}\n");
    let _ = writeln!(s, "/* {}: BAR{} */", map.name, map.bar);
    let _ = writeln!(s, "#define {top}_BAR {}", map.bar);
    for b in map.blocks.iter().filter(|_| map.blocks.len() > 1) {
        let _ = writeln!(s, "#define {top}_{}_OFFSET {:#x}ULL /* block {} */", upper(&b.name), b.offset, b.name);
    }
    for r in map.registers.iter() {
        let (block, reg) = split_name(&r.name);
        let p = match block {
            Some(b) => format!("{top}_{}_{}", upper(b), upper(reg)),
            None => format!("{top}_{}", upper(reg)),
        };
        let desc = r.description.replace("*/", "* /");
        let _ = writeln!(s, "\n/* {} ({:?}){}{desc} */", r.name, r.access, if desc.is_empty() { "" } else { ": " });
        let _ = writeln!(s, "#define {p}_OFFSET {:#x}ULL", r.offset);
        let _ = writeln!(s, "#define {p}_WIDTH {}", r.width.bits());
        if r.access_width != r.width {
            let _ = writeln!(s, "#define {p}_ACCESS_WIDTH {}", r.access_width.bits());
        }
        if let Some(v) = register_reset(r) {
            let _ = writeln!(s, "#define {p}_RESET {v:#x}ULL");
        }
        // A register without fields has one of all its bits, named like it
        // (as the reading and SystemRDL have it).
        let implicit = [crate::regmap::formats::implicit_field(
            &crate::regmap::model::Register { name: reg.to_string().into(), ..r.clone() },
            r.reset,
            crate::regmap::ReadAction::None,
            crate::regmap::WriteSemantics::Normal,
        )];
        let mut fields: Vec<_> =
            if r.fields.is_empty() { implicit.iter().collect() } else { r.fields.iter().collect() };
        fields.sort_by_key(|f| f.lsb);
        for f in fields {
            let fp = format!("{p}_{}", upper(&f.name));
            let _ = writeln!(s, "#define {fp}_MASK {:#x}ULL", f.mask());
            let _ = writeln!(s, "#define {fp}_SHIFT {}", f.lsb);
            let _ = writeln!(s, "#define {fp}_WIDTH {}", f.bits());
            if let Some(v) = f.reset {
                let _ = writeln!(s, "#define {fp}_RESET {v:#x}ULL");
            }
            let mut seen = Vec::new();
            for (v, n) in f.values.iter() {
                let vn = upper(n);
                if !seen.contains(&vn) {
                    let _ = writeln!(s, "#define {fp}_{vn} {v:#x}ULL");
                    seen.push(vn);
                }
            }
        }
    }
    let _ = writeln!(s, "\n#endif /* {guard} */");
    s
}
