//! Loader and access tests on RAM-backed regions.

use crate::error::MapError;
use std::sync::Mutex;

use super::*;
use crate::error::{ErrorKind, Result};
use crate::mmio::{MmioRegion, RegisterIo, Width};

const GOOD: &str = r#"
[device]
name = "demo"
size = 0x100

[[access]]
range = [0x00, 0x40]
widths = [32]

[[access]]
range = [0x40, 0x100]
widths = [8, 16, 32, 64]

[[register]]
name = "CTRL"
offset = 0x00
width = 32
access = "RW"
field = [
    { name = "MODE", bits = "3:1", values = { 0 = "off", 0x2 = "fast" } },
    { name = "EN", bits = 0 },
]

[[register]]
name = "ID"
offset = 0x04
width = 32
access = "RO"

[[register]]
name = "COUNTER"
offset = 0x08
width = 64
access_width = 32
access = "RW"

[[register]]
name = "PENDING"
offset = 0x10
width = 32
access = "RW1C"
field = [{ name = "A", bits = 0 }, { name = "B", bits = 1 }]

[[register]]
name = "KICK"
offset = 0x14
width = 32
access = "WO"

[[register]]
name = "BYTE"
offset = 0x41
width = 8
access = "RW"
"#;

/// A region that records every access, to prove one access per call and the
/// low-then-high order of split registers.
struct Recorder {
    inner: MmioRegion,
    log: Mutex<Vec<(char, u64, u32)>>,
}

impl RegisterIo for Recorder {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read(&self, offset: u64, width: Width) -> Result<u64> {
        self.log.lock().unwrap().push(('r', offset, width.bits()));
        self.inner.read(offset, width)
    }
    fn write(&self, offset: u64, width: Width, value: u64) -> Result<()> {
        self.log.lock().unwrap().push(('w', offset, width.bits()));
        self.inner.write(offset, width, value)
    }
}

fn recorder() -> Recorder {
    Recorder { inner: MmioRegion::ram(4096).unwrap(), log: Mutex::new(Vec::new()) }
}

fn bad(text: &str) -> (usize, String) {
    let e = parse(text, "t.toml").expect_err("a regmap error");
    match e.kind() {
        ErrorKind::Map(MapError::Invalid { line, message, file }) => {
            assert_eq!(file, "t.toml");
            (*line, message.clone())
        }
        ErrorKind::Map(MapError::Problems { file, problems }) => {
            assert_eq!(file, "t.toml");
            problems[0].clone()
        }
        other => panic!("expected a regmap error, got {other:?}"),
    }
}

fn every(text: &str) -> Vec<(usize, String)> {
    match parse(text, "t.toml").expect_err("a regmap error").kind() {
        ErrorKind::Map(MapError::Invalid { line, message, .. }) => vec![(*line, message.clone())],
        ErrorKind::Map(MapError::Problems { problems, .. }) => problems.clone(),
        other => panic!("expected a regmap error, got {other:?}"),
    }
}

#[test]
fn every_problem_is_reported_at_the_key_at_fault() {
    let text = "[device]\nname = \"x\"\n\
        [[register]]\nname = \"A\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n\
        field = [{ name = \"F\", bits = \"40:0\" }]\n\
        [[register]]\nname = \"a\"\noffset = 2\nwidth = 32\naccess = \"XX\"\n\
        [[register]]\nname = \"B\"\noffset = 8\nwidth = 32\naccess = \"RW\"\nreset = 0x1_0000_0000\n";
    let lines: Vec<usize> = every(text).iter().map(|(l, _)| *l).collect();
    // field bits (8), access XX (13: the register is not built), reset (19).
    assert_eq!(lines, [8, 13, 19], "{:?}", every(text));
    let (_, msg) = &every(text)[1];
    assert!(msg.contains("access 'XX'"), "{msg}");
    // Once A2 reads, its name and offset are at fault too.
    let fixed = text.replace("\"XX\"", "\"RW\"");
    let problems = every(&fixed);
    let lines: Vec<usize> = problems.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [8, 10, 11, 11, 19], "{problems:?}");
    // A syntax error is one line, not the reader's two.
    let (_, msg) = bad("[device]\nname = \"x\n");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn blocks_in_toml() {
    let text = "[device]\nname = \"soc\"\nat = 0x4000\n\
        [[block]]\nname = \"DMA0\"\n[[block.register]]\nname = \"CTRL\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n\
        [[block]]\nname = \"DMA1\"\nbase = 0x100\n[[block.register]]\nname = \"CTRL\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n";
    let file = crate::regmap::parse_file(text, "t.toml").unwrap();
    assert_eq!(file.blocks.len(), 2);
    let map = file.place(None, None).unwrap();
    assert_eq!(map.register("DMA1.CTRL").unwrap().offset, 0x4100);
    assert_eq!(map.register("dma0.ctrl").unwrap().offset, 0x4000);
    assert_eq!(kind(map.register("CTRL")), "RegisterAmbiguous");
    assert_eq!(file.place(Some("DMA1"), Some(0)).unwrap().register("CTRL").unwrap().offset, 0x100);
    // Blocks that share addresses are refused.
    let (line, msg) = bad(&text.replace("base = 0x100", "base = 0x0"));
    assert_eq!(line, 12, "the name of DMA1: {msg}");
    assert!(msg.contains("overlaps block DMA0"), "{msg}");
}

fn kind<T: std::fmt::Debug>(r: Result<T>) -> String {
    // The variant's name, inside its module's error (`Map(ReadOnly { .. })`).
    let d = format!("{:?}", r.unwrap_err().kind());
    let inner = d.split_once('(').filter(|(module, _)| !module.contains(' ')).map_or(d.as_str(), |(_, inner)| inner);
    inner.split([' ', '(', '{']).next().unwrap_or("").to_string()
}

#[test]
fn loads_and_sorts() {
    let map = parse(GOOD, "t.toml").unwrap();
    assert_eq!(map.registers.len(), 6);
    let ctrl = map.register("ctrl").unwrap();
    assert_eq!(ctrl.fields[0].name, "MODE");
    assert_eq!(ctrl.fields[0].meaning(2), Some("fast"));
    assert_eq!(map.register("COUNTER").unwrap().access_width, Width::W32);
    let err = map.register("CTRK").unwrap_err();
    assert!(err.to_string().contains("did you mean CTRL"), "{err}");
}

#[test]
fn reports_overlapping_registers_with_line() {
    let text = "[device]\nname = \"x\"\n\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n\n[[register]]\nname = \"B\"\noffset = 2\nwidth = 16\naccess = \"RW\"\n";
    let (line, msg) = bad(text);
    assert_eq!(line, 12, "the offset of B: {msg}");
    assert!(msg.contains("overlaps A"), "{msg}");
}

#[test]
fn reports_field_outside_register() {
    let text = "[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 8\naccess = \"RW\"\nfield = [\n  { name = \"F\", bits = \"9:4\" },\n]\n";
    let (line, msg) = bad(text);
    assert_eq!(line, 9, "{msg}");
    assert!(msg.contains("outside the 8-bit register"), "{msg}");
}

#[test]
fn reports_duplicates_widths_and_syntax() {
    let dup = "[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n[[register]]\nname = \"a\"\noffset = 4\nwidth = 32\naccess = \"RW\"\n";
    let (line, msg) = bad(dup);
    assert_eq!(line, 9, "the second name");
    assert!(msg.contains("duplicate register name"), "{msg}");

    let narrow = "[device]\nname = \"x\"\n[[access]]\nrange = [0, 0x10]\nwidths = [32]\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 16\naccess = \"RW\"\n";
    let (line, msg) = bad(narrow);
    assert_eq!(line, 8, "its offset");
    assert!(msg.contains("takes no 16-bit access"), "{msg}");

    let (line, msg) =
        bad("[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 24\naccess = \"RW\"\n");
    assert_eq!(line, 6, "its width");
    assert!(msg.contains("invalid access width 24"), "{msg}");

    let (line, msg) = bad("[device]\nname = \"x\"\n\n[[register]]\nname = \"A\"\noffset = = 0\n");
    assert_eq!(line, 6, "{msg}");

    let (_, msg) = bad("[device]\nname = \"x\"\ncolour = 1\n");
    assert!(msg.contains("unknown field"), "{msg}");

    let (_, msg) = bad("[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 2\nwidth = 32\naccess = \"RW\"\n");
    assert!(msg.contains("not aligned"), "{msg}");

    let (_, msg) = bad("[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 32\naccess = \"XX\"\n");
    assert!(msg.contains("not one of RO, RW, WO, RW1C"), "{msg}");

    let (_, msg) =
        bad("[device]\nname = \"x\"\nsize = 4\n[[register]]\nname = \"A\"\noffset = 4\nwidth = 32\naccess = \"RW\"\n");
    assert!(msg.contains("outside the 0x4-byte BAR"), "{msg}");

    let (_, msg) = bad("[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 8\naccess = \"RW\"\nfield = [{ name = \"F\", bits = 0, values = { 2 = \"two\" } }]\n");
    assert!(msg.contains("does not fit in 1 bits"), "{msg}");

    let (_, msg) = bad("[device]\nname = \"x\"\n[[register]]\nname = \"A\"\noffset = 0\nwidth = 8\naccess = \"RW\"\nfield = [{ name = \"F\", bits = \"3:0\" }, { name = \"G\", bits = 3 }]\n");
    assert!(msg.contains("overlaps field F"), "{msg}");
}

#[test]
fn raw_width_rules() {
    let map = parse(GOOD, "t.toml").unwrap();
    assert!(map.check_raw_access(0x0, Width::W32).is_ok());
    assert_eq!(kind(map.check_raw_access(0x0, Width::W8)), "WidthNotAllowed");
    assert!(map.check_raw_access(0x41, Width::W8).is_ok());
    assert!(map.check_raw_access(0x3c, Width::W64).is_err(), "straddles two ranges");
    assert!(map.check_raw_access(0x100, Width::W32).is_err());
}

#[test]
fn split_register_is_low_then_high_32_bit() {
    let map = parse(GOOD, "t.toml").unwrap();
    let io = recorder();
    let reg = map.register("COUNTER").unwrap();
    write_register(&io, reg, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(read_register(&io, reg).unwrap(), 0x1122_3344_5566_7788);
    assert_eq!(*io.log.lock().unwrap(), [('w', 8, 32), ('w', 12, 32), ('r', 8, 32), ('r', 12, 32)]);
}

#[test]
fn field_write_is_read_modify_write() {
    let map = parse(GOOD, "t.toml").unwrap();
    let io = recorder();
    let ctrl = map.register("CTRL").unwrap();
    io.inner.write(0, Width::W32, 0xf000_0001).unwrap();
    let new = write_field(&io, ctrl, ctrl.field("MODE").unwrap(), 2).unwrap();
    assert_eq!(new, 0xf000_0005);
    assert_eq!(io.inner.read(0, Width::W32).unwrap(), 0xf000_0005);
    assert_eq!(*io.log.lock().unwrap(), [('r', 0, 32), ('w', 0, 32)]);
    // Out of range: nothing touched.
    io.log.lock().unwrap().clear();
    let err = write_field(&io, ctrl, ctrl.field("MODE").unwrap(), 8).unwrap_err();
    assert!(err.to_string().contains("does not fit in field MODE (3 bits, max 0x7)"), "{err}");
    assert!(io.log.lock().unwrap().is_empty());
}

#[test]
fn access_rules_are_enforced() {
    let map = parse(GOOD, "t.toml").unwrap();
    let io = recorder();
    let id = map.register("ID").unwrap();
    assert_eq!(kind(write_register(&io, id, 1)), "ReadOnly");
    let kick = map.register("KICK").unwrap();
    assert_eq!(kind(read_register(&io, kick)), "WriteOnly");
    assert_eq!(kind(write_register(&io, map.register("BYTE").unwrap(), 0x100)), "ValueTooLarge");
    // RW1C field write sets only that field's bit and does not read.
    let pending = map.register("PENDING").unwrap();
    write_field(&io, pending, pending.field("B").unwrap(), 1).unwrap();
    assert_eq!(*io.log.lock().unwrap(), [('w', 0x10, 32)]);
    assert_eq!(io.inner.read(0x10, Width::W32).unwrap(), 0b10);
    assert!(io.log.lock().unwrap().len() == 1, "no accesses were made by the assertion path");
}

#[test]
fn targets_resolve() {
    let map = parse(GOOD, "t.toml").unwrap();
    assert!(matches!(resolve(Some(&map), "0x10").unwrap(), Target::Offset(0x10)));
    assert!(
        matches!(resolve(Some(&map), "ctrl.en").unwrap(), Target::Field(r, f) if r.name == "CTRL" && f.name == "EN")
    );
    assert_eq!(kind(resolve(Some(&map), "CTRL.NOPE")), "FieldNotFound");
    assert_eq!(kind(resolve(None, "CTRL")), "NoMap");
    assert_eq!(kind(resolve(Some(&map), "0xzz")), "InvalidValue");
}

const SEMANTICS: &str = r#"
[device]
name = "w1c"

[[register]]
name = "STATUS"
offset = 0x0
width = 32
access = "RW"
field = [
    { name = "ENABLE", bits = "1:0" },
    { name = "DONE", bits = 4, write = "oneToClear" },
    { name = "ERR", bits = 5, write = "oneToClear" },
    { name = "NZ", bits = 6, write = "zeroToClear" },
    { name = "BUSY", bits = 8, access = "RO" },
]

[[register]]
name = "KICK"
offset = 0x4
width = 32
access = "RW"
field = [
    { name = "GO", bits = 0 },
    { name = "ARM", bits = 1, write = "clear" },
]

[[register]]
name = "EVENTS"
offset = 0x8
width = 32
access = "RW"
field = [
    { name = "A", bits = 0, read = "clear" },
    { name = "B", bits = 1 },
]
"#;

#[test]
fn field_writes_never_clear_or_set_other_bits() {
    let map = parse(SEMANTICS, "t.toml").unwrap();
    let io = recorder();
    let status = map.register("STATUS").unwrap();
    // Pending DONE and ERR (bits 4, 5), NZ set, BUSY set, a stray unnamed bit 12.
    io.inner.write(0, Width::W32, 0x1171).unwrap();
    let new = write_field(&io, status, status.field("ENABLE").unwrap(), 2).unwrap();
    // ENABLE=2; DONE/ERR written as 0 (not cleared); NZ written as 1 (not cleared);
    // BUSY and bit 12 keep what was read.
    assert_eq!(new, 0x1142);
    assert_eq!(*io.log.lock().unwrap(), [('r', 0, 32), ('w', 0, 32)]);
    // Clearing DONE on purpose writes 1 there and 0 to ERR.
    let new = write_field(&io, status, status.field("DONE").unwrap(), 1).unwrap();
    assert_eq!(new & 0x30, 0x10);
    assert_eq!(kind(write_field(&io, status, status.field("BUSY").unwrap(), 1)), "ReadOnly");
    // A field whose every write changes it makes other field writes impossible.
    let kick = map.register("KICK").unwrap();
    let err = write_field(&io, kick, kick.field("GO").unwrap(), 1).unwrap_err();
    assert!(err.to_string().contains("also changes KICK.ARM"), "{err}");
    // A read-clear field makes the register unreadable for read-modify-write.
    let events = map.register("EVENTS").unwrap();
    assert!(events.read_side_effects);
    assert_eq!(kind(write_field(&io, events, events.field("B").unwrap(), 1)), "ReadSideEffect");
}

#[test]
fn one_validation_for_every_source() {
    let mut map = parse(GOOD, "t.toml").unwrap();
    assert_eq!(validate(&map), Ok(()));
    map.registers.to_mut().swap(0, 1);
    let inv = validate(&map).unwrap_err();
    assert_eq!(inv.register, Some(1));
    assert!(inv.message.contains("out of offset order"), "{}", inv.message);
    let long = format!("[device]\nname = \"{}\"\n", "x".repeat(65536));
    let (line, msg) = bad(&long);
    assert_eq!(line, 2, "the name");
    assert!(msg.contains("must be letters") && msg.len() < 200, "{msg}");
}

// ---- hostile input (issue 12)

#[test]
fn hostile_maps_are_invalid_maps_with_a_line_and_a_short_message() {
    let huge = "A".repeat(70_000);
    let cases = [
        (
            format!(
                "[device]\nname = \"x\"\n[[register]]\nname = \"{huge}\"\noffset = 0\nwidth = 32\naccess = \"RW\"\n"
            ),
            4,
        ),
        (
            format!(
                "[device]\nname = \"x\"\n[[register]]\nname = \"R\"\noffset = 0\nwidth = 32\naccess = \"{huge}\"\n"
            ),
            7,
        ),
        (
            format!(
                "[device]\nname = \"x\"\n[[register]]\nname = \"R\"\noffset = 0\nwidth = \"{huge}\"\naccess = \"RW\"\n"
            ),
            6,
        ),
        (format!("[device]\nname = {}{}\n", "[".repeat(5000), "]".repeat(5000)), 2),
        (format!("a = {}1{}\n", "{a=".repeat(2000), "}".repeat(2000)), 1),
    ];
    for (text, want) in cases {
        let (line, message) = bad(&text);
        assert_eq!(line, want, "{message}");
        assert!(message.chars().count() <= crate::regmap::loader::MAX_MESSAGE + 1, "{} chars", message.len());
    }
    let (_, message) = bad(&format!("[device]\nname = {}{}\n", "[".repeat(5000), "]".repeat(5000)));
    assert!(message.contains("nested too deeply"), "{message}");
}

#[test]
fn deep_xml_is_refused_before_it_is_parsed() {
    let deep = format!(
        "<?xml version=\"1.0\"?>\n<!-- a > b -->\n{}{}",
        "<cluster a='>'>".repeat(5000),
        "</cluster>".repeat(5000)
    );
    let e = crate::regmap::formats::parse(&deep, "deep.svd").unwrap_err();
    assert_eq!(e.to_string(), "deep.svd:3: XML nested deeper than 100 elements");
    // Just inside the limit, the XML reader is reached (and says what it thinks).
    let ok = format!("{}{}", "<a>".repeat(99), "</a>".repeat(99));
    let e = crate::regmap::formats::parse(&ok, "ok.xml").unwrap_err();
    assert!(e.to_string().contains("neither CMSIS-SVD"), "{e}");
    let e = crate::regmap::formats::parse(&format!("{}<b/>{}", "<a>".repeat(100), "</a>".repeat(100)), "x.xml")
        .unwrap_err();
    assert!(e.to_string().contains("neither CMSIS-SVD"), "self-closing tags do not nest: {e}");
}

/// The read-modify-write table: for every write semantic a field can have,
/// a write of another field by name (`write R.EN 1`: the command line,
/// scripts, Python) and a typed `modify` (`R.modify(io, R::EN::SET)`) write
/// the same word, or are refused alike; a typed `write` of field values
/// writes each semantic's "no effect" value; and a simulated device ends in
/// the same state through either path.
mod rmw_table {
    use super::*;
    use crate::regmap::typed::{Reg, RegisterSpec, RW};

    crate::register_map! {
        /// One register per write semantic of PEND (bit 1), next to EN (bit 0).
        pub mod regs {
            map MAP { name: "rmw", description: "every write semantic", bar: 0, size: Some(0x1000), access: [] }
            NORMAL @ 0x00: u32, RW { PEND [1], EN [0] }
            ONE_TO_CLEAR @ 0x04: u32, RW { PEND [1] write OneToClear, EN [0] }
            ONE_TO_SET @ 0x08: u32, RW { PEND [1] write OneToSet, EN [0] }
            ONE_TO_TOGGLE @ 0x0c: u32, RW { PEND [1] write OneToToggle, EN [0] }
            ZERO_TO_CLEAR @ 0x10: u32, RW { PEND [1] write ZeroToClear, EN [0] }
            ZERO_TO_SET @ 0x14: u32, RW { PEND [1] write ZeroToSet, EN [0] }
            ZERO_TO_TOGGLE @ 0x18: u32, RW { PEND [1] write ZeroToToggle, EN [0] }
            CLEAR @ 0x1c: u32, RW { PEND [1] write Clear, EN [0] }
            SET @ 0x20: u32, RW { PEND [1] write Set, EN [0] }
            MODIFY @ 0x24: u32, RW { PEND [1] write Modify, EN [0] }
            READ_ONLY_FIELD @ 0x28: u32, RW { PEND [1] access RO, EN [0] }
            UNNAMED_BITS @ 0x2c: u32, RW { EN [0] }
        }
    }

    /// What a write of EN = 1 writes when the register holds `before`: the
    /// word, or the error's kind.
    type Outcome = std::result::Result<u64, String>;

    fn by_name(name: &str, before: u64) -> (Outcome, Vec<(char, u64, u32)>) {
        let io = recorder();
        let reg = regs::MAP.register(name).unwrap();
        io.inner.write(reg.offset, Width::W32, before).unwrap();
        let r = write_field(&io, reg, reg.field("EN").unwrap(), 1);
        let out = r.map(|_| io.inner.read(reg.offset, Width::W32).unwrap()).map_err(|e| kind::<()>(Err(e)));
        let log = io.log.lock().unwrap().clone();
        (out, log)
    }

    fn typed<R: RegisterSpec>(
        reg: Reg<u32, RW, crate::regmap::typed::Pure, R>,
        en: crate::regmap::typed::FieldValue<u32, R>,
        before: u64,
    ) -> (Outcome, Vec<(char, u64, u32)>) {
        let io = recorder();
        io.inner.write(reg.offset(), Width::W32, before).unwrap();
        let r = reg.modify(&io, en);
        let out = r.map(|_| io.inner.read(reg.offset(), Width::W32).unwrap()).map_err(|e| kind::<()>(Err(e)));
        let log = io.log.lock().unwrap().clone();
        (out, log)
    }

    #[test]
    fn name_path_and_typed_modify_write_the_same_word_for_every_semantic() {
        use regs::*;
        let ok = |v: u64| -> Outcome { Ok(v) };
        let refused = |k: &str| -> Outcome { Err(k.to_string()) };
        // (register, typed, [(before, expected)]): PEND pending (0b10) or not.
        #[allow(clippy::type_complexity)]
        let table: Vec<(&str, Box<dyn Fn(u64) -> (Outcome, Vec<(char, u64, u32)>)>, [(u64, Outcome); 2])> = vec![
            ("NORMAL", Box::new(|b| typed(NORMAL, NORMAL::EN::SET, b)), [(0b10, ok(0b11)), (0b00, ok(0b01))]),
            (
                "ONE_TO_CLEAR",
                Box::new(|b| typed(ONE_TO_CLEAR, ONE_TO_CLEAR::EN::SET, b)),
                [(0b10, ok(0b01)), (0b00, ok(0b01))],
            ),
            (
                "ONE_TO_SET",
                Box::new(|b| typed(ONE_TO_SET, ONE_TO_SET::EN::SET, b)),
                [(0b10, ok(0b01)), (0b00, ok(0b01))],
            ),
            (
                "ONE_TO_TOGGLE",
                Box::new(|b| typed(ONE_TO_TOGGLE, ONE_TO_TOGGLE::EN::SET, b)),
                [(0b10, ok(0b01)), (0b00, ok(0b01))],
            ),
            (
                "ZERO_TO_CLEAR",
                Box::new(|b| typed(ZERO_TO_CLEAR, ZERO_TO_CLEAR::EN::SET, b)),
                [(0b10, ok(0b11)), (0b00, ok(0b11))],
            ),
            (
                "ZERO_TO_SET",
                Box::new(|b| typed(ZERO_TO_SET, ZERO_TO_SET::EN::SET, b)),
                [(0b10, ok(0b11)), (0b00, ok(0b11))],
            ),
            (
                "ZERO_TO_TOGGLE",
                Box::new(|b| typed(ZERO_TO_TOGGLE, ZERO_TO_TOGGLE::EN::SET, b)),
                [(0b10, ok(0b11)), (0b00, ok(0b11))],
            ),
            (
                "CLEAR",
                Box::new(|b| typed(CLEAR, CLEAR::EN::SET, b)),
                [(0b10, refused("NotSupported")), (0, refused("NotSupported"))],
            ),
            (
                "SET",
                Box::new(|b| typed(SET, SET::EN::SET, b)),
                [(0b10, refused("NotSupported")), (0, refused("NotSupported"))],
            ),
            (
                "MODIFY",
                Box::new(|b| typed(MODIFY, MODIFY::EN::SET, b)),
                [(0b10, refused("NotSupported")), (0, refused("NotSupported"))],
            ),
            (
                "READ_ONLY_FIELD",
                Box::new(|b| typed(READ_ONLY_FIELD, READ_ONLY_FIELD::EN::SET, b)),
                [(0b10, ok(0b11)), (0b00, ok(0b01))],
            ),
            (
                "UNNAMED_BITS",
                Box::new(|b| typed(UNNAMED_BITS, UNNAMED_BITS::EN::SET, b)),
                [(0xf0, ok(0xf1)), (0b00, ok(0b01))],
            ),
        ];
        for (name, modify, cases) in &table {
            for (before, want) in cases {
                let (named, named_log) = by_name(name, *before);
                let (modified, typed_log) = modify(*before);
                assert_eq!(&named, want, "{name} from {before:#x}: write {name}.EN 1");
                assert_eq!(&modified, want, "{name} from {before:#x}: {name}.modify(EN::SET)");
                assert_eq!(named_log, typed_log, "{name}: the same accesses");
                if want.is_err() {
                    assert!(named_log.is_empty(), "{name}: refused before any access");
                }
            }
        }
        // A write-1-to-clear field written on purpose is written 1 (both paths).
        let (named, _) = {
            let io = recorder();
            let reg = regs::MAP.register("ONE_TO_CLEAR").unwrap();
            io.inner.write(reg.offset, Width::W32, 0b11).unwrap();
            (write_field(&io, reg, reg.field("PEND").unwrap(), 1).unwrap(), ())
        };
        let (modified, _) = typed(ONE_TO_CLEAR, ONE_TO_CLEAR::PEND::SET, 0b11);
        assert_eq!((named, modified), (0b11, Ok(0b11)));
        // A read-only field is refused in both paths.
        let reg = regs::MAP.register("READ_ONLY_FIELD").unwrap();
        assert_eq!(kind(write_field(&recorder(), reg, reg.field("PEND").unwrap(), 1)), "ReadOnly");
        assert_eq!(typed(READ_ONLY_FIELD, READ_ONLY_FIELD::PEND::SET, 0).0, Err("ReadOnly".to_string()));
    }

    #[test]
    fn a_typed_write_of_fields_writes_each_semantic_no_effect_value() {
        use regs::*;
        let io = recorder();
        ONE_TO_CLEAR.write(&io, ONE_TO_CLEAR::EN::SET).unwrap();
        ZERO_TO_CLEAR.write(&io, ZERO_TO_CLEAR::EN::SET).unwrap();
        NORMAL.write(&io, NORMAL::EN::SET).unwrap();
        assert_eq!(io.inner.read(0x04, Width::W32).unwrap(), 0b01, "write-1-to-clear: 0, nothing acknowledged");
        assert_eq!(io.inner.read(0x10, Width::W32).unwrap(), 0b11, "write-0-to-clear: 1, nothing cleared");
        assert_eq!(io.inner.read(0x00, Width::W32).unwrap(), 0b01, "a plain field not named: 0");
        assert!(io.log.lock().unwrap().iter().all(|(op, _, _)| *op == 'w'), "a write reads nothing");
        assert_eq!(kind(READ_ONLY_FIELD.write(&io, READ_ONLY_FIELD::PEND::SET)), "ReadOnly");
    }

    #[test]
    fn on_a_simulated_device_a_modify_leaves_a_pending_event_pending() {
        use crate::backend::sim::{Identity, SimBackend};
        use crate::backend::{Backend, BarOptions};
        use regs::*;
        let hw = SimBackend::from_maps(&[&regs::MAP], Identity::UNKNOWN, &Default::default()).unwrap();
        let bar = hw.open_bar(0, BarOptions::RW).unwrap();
        let reg = regs::MAP.register("ONE_TO_CLEAR").unwrap();
        // The device raises PEND; each path enables EN and leaves PEND pending.
        hw.set_register(0, "ONE_TO_CLEAR", 0b10).unwrap();
        ONE_TO_CLEAR.modify(&*bar, ONE_TO_CLEAR::EN::SET).unwrap();
        assert_eq!(hw.register_value(0, "ONE_TO_CLEAR").unwrap(), 0b11, "typed modify");
        hw.set_register(0, "ONE_TO_CLEAR", 0b10).unwrap();
        write_field(&*bar, reg, reg.field("EN").unwrap(), 1).unwrap();
        assert_eq!(hw.register_value(0, "ONE_TO_CLEAR").unwrap(), 0b11, "write ONE_TO_CLEAR.EN 1");
        // What a read-modify-write blind to write semantics does: the event is gone.
        hw.set_register(0, "ONE_TO_CLEAR", 0b10).unwrap();
        let read = ONE_TO_CLEAR.read(&*bar).unwrap();
        ONE_TO_CLEAR.write(&*bar, read.bits() | 1).unwrap();
        assert_eq!(
            hw.register_value(0, "ONE_TO_CLEAR").unwrap(),
            0b01,
            "the simulated device honours write-1-to-clear"
        );
    }
}
