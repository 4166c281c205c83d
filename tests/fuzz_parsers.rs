//! Property tests of the library's parsers on hostile input (issue 12, point 6):
//! device selectors, values, sizes and widths, register targets, register maps
//! in every format read from text, and the ivshmem protocol in both directions.
//!
//! The invariant everywhere: a documented error (its class is the one the
//! README's exit codes give for it) or a correct result, never a panic; and
//! where a thing can be printed and read back, it reads back the same.
//!
//! Deterministic: every property runs from the same fixed seed
//! ([`SEED`]) with a fixed number of cases, and nothing is persisted, so a CI
//! run tries exactly the cases a developer's run tries (a few seconds in all).
//! `PROPTEST_CASES` does not apply; change the budgets here. The command
//! line's parsers (argument vectors and batch lines) are tested beside them in
//! the command line: cli/script/ and cli/cli/.

use std::path::Path;

use mmiodrv::error::ErrorClass;
use mmiodrv::mmio::Width;
use mmiodrv::pci::{DeviceSelector, PciAddress};
use mmiodrv::regmap::formats::{reading, toml_out};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// The one seed of every property here.
const SEED: u64 = 0x6d6d_696f_6472_7631;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(SEED),
        failure_persistence: None,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// Text a hostile user would type: anything, with the characters that
/// matter to these parsers over-represented.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-fA-FxXbBoO_:.+\\- kKmMgG]{0,24}",
        "(0x|0b|0o)?[0-9a-f_]{0,40}[kmgKMG]?",
        "[ \\t]*[0-9a-fA-F]{1,6}(:[0-9a-fA-F]{1,6}){0,3}(\\.[0-9a-fA-F]{1,3})?[ \\t]*",
        "(file|sim):.{0,12}",
    ]
}

fn assert_usage(e: &mmiodrv::Error, input: &str) {
    assert_eq!(e.class(), ErrorClass::Usage, "{input:?}: {e}");
    assert!(!e.to_string().is_empty());
}

// ---------------------------------------------------------------- selectors

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn selectors_parse_or_are_usage_errors(text in hostile_text()) {
        for r in [PciAddress::parse(&text).map(|_| ()), DeviceSelector::parse(&text).map(|_| ())] {
            if let Err(e) = r {
                assert_usage(&mmiodrv::Error::from(e), &text);
            }
        }
        match mmiodrv::device::DeviceSpec::parse(&text) {
            Ok(mmiodrv::device::DeviceSpec::File(p)) | Ok(mmiodrv::device::DeviceSpec::Sim(p)) => {
                prop_assert!(!p.as_os_str().is_empty(), "{text:?}")
            }
            Ok(_) => {}
            Err(e) => assert_usage(&e, &text),
        }
        // Whatever parses prints back as something that parses to the same.
        if let Ok(a) = PciAddress::parse(&text) {
            prop_assert_eq!(PciAddress::parse(&a.to_string()).unwrap(), a);
        }
        if let Ok(s) = DeviceSelector::parse(&text) {
            prop_assert_eq!(DeviceSelector::parse(&s.to_string()).unwrap(), s);
        }
    }

    #[test]
    fn addresses_round_trip(domain: u16, bus: u8, device in 0u8..32, function in 0u8..8, upper: bool) {
        let a = PciAddress { domain, bus, device, function };
        let text = if upper { a.to_string().to_uppercase() } else { a.to_string() };
        prop_assert_eq!(PciAddress::parse(&text).unwrap(), a);
        prop_assert_eq!(DeviceSelector::parse(&text).unwrap(), DeviceSelector::Address(a));
        if domain == 0 {
            prop_assert_eq!(PciAddress::parse(&a.lspci()).unwrap(), a);
        }
        // Out-of-range slots and functions are refused, not wrapped.
        let bad = format!("{domain:04x}:{bus:02x}:{:02x}.{function:x}", device + 32);
        prop_assert!(PciAddress::parse(&bad).is_err(), "{}", bad);
        let ids = DeviceSelector::Ids { vendor: domain, device: u16::from(bus) << 8 | u16::from(device) };
        prop_assert_eq!(DeviceSelector::parse(&ids.to_string()).unwrap(), ids);
    }
}

// ---------------------------------------------------------------- values, sizes, widths

/// `v` written the ways a user may write it.
fn spellings(v: u64) -> Vec<String> {
    let mut out = vec![
        v.to_string(),
        format!("{v:#x}"),
        format!("{v:#X}"),
        format!("{v:#b}"),
        format!("{v:#o}"),
        format!(" {v} "),
    ];
    let hex = format!("{v:x}");
    let grouped: Vec<String> =
        hex.as_bytes().rchunks(4).rev().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    out.push(format!("0x{}", grouped.join("_")));
    out
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn numbers_parse_or_are_usage_errors(text in hostile_text(), bits in 1u32..=64) {
        use mmiodrv::value::{parse_bits, parse_hex_bytes, parse_size, parse_u64};
        if let Err(e) = parse_u64(&text) {
            assert_usage(&e, &text);
        }
        match parse_size(&text) {
            Ok(v) => {
                // A size is its number times its suffix.
                let t = text.trim();
                let shift = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
                    Some('K') => 10,
                    Some('M') => 20,
                    Some('G') => 30,
                    _ => 0,
                };
                if shift > 0 {
                    let n = parse_u64(&t[..t.len() - 1]).unwrap();
                    prop_assert_eq!(Some(v), n.checked_mul(1 << shift));
                } else {
                    prop_assert_eq!(v, parse_u64(t).unwrap());
                }
            }
            Err(e) => assert_usage(&e, &text),
        }
        match parse_bits(&text, bits, "the value") {
            Ok(v) => prop_assert!(bits == 64 || v >> bits == 0),
            Err(e) => assert_usage(&e, &text),
        }
        match parse_hex_bytes(&text) {
            Ok(bytes) => prop_assert!(!bytes.is_empty()),
            Err(e) => assert_usage(&e, &text),
        }
        for kind in [
            mmiodrv::command::Value::Bits(bits),
            mmiodrv::command::Value::Size,
            mmiodrv::command::Value::Millis,
            mmiodrv::command::Value::Path,
            mmiodrv::command::Value::Text,
            mmiodrv::command::Value::Choice(&["intx", "msi", "msix"]),
        ] {
            if let Err(e) = kind.parse(&text, "ARG") {
                assert_usage(&e, &text);
            }
        }
        if let Err(e) = text.parse::<mmiodrv::backend::BackendKind>() {
            assert_usage(&e, &text);
        }
        if let Err(e) = text.parse::<mmiodrv::backend::IrqKind>() {
            assert_usage(&e, &text);
        }
    }

    #[test]
    fn numbers_round_trip(v: u64, shift in prop::sample::select(vec![0u32, 10, 20, 30]), bits in 1u32..=64) {
        use mmiodrv::value::{parse_bits, parse_size, parse_u64};
        for text in spellings(v) {
            prop_assert_eq!(parse_u64(&text).unwrap(), v, "{}", text);
        }
        let suffix = match shift { 10 => "K", 20 => "M", 30 => "G", _ => "" };
        let sized = parse_size(&format!("{v:#x}{suffix}"));
        match v.checked_mul(1 << shift) {
            Some(bytes) => prop_assert_eq!(sized.unwrap(), bytes),
            None => assert_usage(&sized.unwrap_err(), "overflowing size"),
        }
        let fits = bits == 64 || v >> bits == 0;
        prop_assert_eq!(parse_bits(&v.to_string(), bits, "v").is_ok(), fits);
        // One more than u64::MAX is refused as too large, not wrapped.
        if v == u64::MAX {
            prop_assert!(parse_u64("18446744073709551616").is_err());
        }
    }

    #[test]
    fn hex_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 1..64), sep in prop::sample::select(vec!["", " ", ":", "_"])) {
        let text: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        prop_assert_eq!(mmiodrv::value::parse_hex_bytes(&text.join(sep)).unwrap(), bytes.clone());
        prop_assert_eq!(mmiodrv::value::parse_hex_bytes(&format!("0x{}", text.join(""))).unwrap(), bytes);
    }

    #[test]
    fn widths_are_a_closed_set(bits: u32) {
        match Width::from_bits(bits) {
            Ok(w) => {
                prop_assert!(matches!(bits, 8 | 16 | 32 | 64));
                prop_assert_eq!(w.bits(), bits);
                prop_assert_eq!(w.bytes() * 8, u64::from(bits));
            }
            Err(e) => {
                prop_assert!(!matches!(bits, 8 | 16 | 32 | 64));
                assert_usage(&e, &bits.to_string());
            }
        }
    }
}

// ---------------------------------------------------------------- register targets

fn edu_layout(force: bool) -> mmiodrv::window::Layout {
    mmiodrv::window::Layout {
        device: mmiodrv::error::DeviceRef::Ram,
        bar: 0,
        len: 0x100000,
        map: Some(mmiodrv::window::MapRef::Static(mmiodrv_drivers::edu::DRIVER.maps[0])),
        source: mmiodrv::window::MapSource::Builtin,
        force,
    }
}

/// Targets: names of the map (right, wrong case, with fields, mangled),
/// offsets, and anything.
fn target_text() -> impl Strategy<Value = String> {
    let map = mmiodrv_drivers::edu::DRIVER.maps[0];
    let mut names: Vec<String> = Vec::new();
    for r in map.registers.iter() {
        names.push(r.name.to_string());
        names.push(r.name.to_lowercase());
        for f in r.fields.iter() {
            names.push(format!("{}.{}", r.name, f.name));
            names.push(format!("{}.{}X", r.name, f.name));
        }
    }
    prop_oneof![
        prop::sample::select(names.clone()),
        (prop::sample::select(names), "[.\\[\\]0-9a-zA-Z_]{0,8}").prop_map(|(n, tail)| format!("{n}{tail}")),
        "(0x)?[0-9a-f]{1,18}",
        "[A-Z_.\\[\\]0-9]{0,200}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn targets_resolve_inside_the_bar_or_are_refused(
        text in target_text(),
        width in prop::option::of(prop::sample::select(vec![8u32, 16, 32, 64])),
        value: u64,
        force: bool,
    ) {
        let layout = edu_layout(force);
        let width = width.map(|b| Width::from_bits(b).unwrap());
        match layout.resolve(&text, width) {
            Ok(r) => {
                let offset = match r.target {
                    mmiodrv::regmap::Target::Offset(o) => o,
                    mmiodrv::regmap::Target::Register(reg) | mmiodrv::regmap::Target::Field(reg, _) => reg.offset,
                };
                prop_assert!(offset + r.width.bytes() <= layout.len, "{text:?} resolved outside the BAR");
                prop_assert_eq!(offset % r.width.bytes(), 0, "{:?} resolved misaligned", text);
                for check in [layout.check_read(&r), layout.check_write(&r, value)] {
                    if let Err(e) = check {
                        assert_usage(&e, &text);
                    }
                }
            }
            Err(e) => prop_assert!(
                matches!(e.class(), ErrorClass::Usage | ErrorClass::NotFound),
                "{text:?}: {e} is {:?}", e.class()
            ),
        }
        let hexdump = layout.check_hexdump(value % 0x200000, value >> 40);
        if let Err(e) = hexdump {
            assert_usage(&e, "hexdump");
        }
    }
}

// ---------------------------------------------------------------- register maps

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed maps of every format the library reads from text (SystemRDL
/// needs its compiler and is read from files only), plus the TOML edu map.
fn seed_maps() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["edu", "ivshmem", "w1c", "nested"] {
        let Ok(entries) = std::fs::read_dir(repo().join("tests/data").join(dir)) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "rdl") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p.file_name().unwrap_or_default().to_string_lossy().into_owned(), text));
            }
        }
    }
    let edu = mmiodrv_drivers::edu::DRIVER.maps[0];
    out.push(("edu.toml".into(), toml_out::to_toml(edu, "built-in")));
    out.sort();
    out
}

/// Snippets a hostile map is made of: huge names and numbers, deep nesting in
/// each syntax, quotes, entities, separators.
fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..70_000).prop_map(|n| "A".repeat(n)),
        (1usize..5_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        (1usize..5_000).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))),
        (1usize..3_000).prop_map(|n| format!("{}{}", "<cluster>".repeat(n), "</cluster>".repeat(n))),
        (1usize..3_000).prop_map(|n| format!("{}{}", "<registerFile>".repeat(n), "</registerFile>".repeat(n))),
        (1usize..2_000).prop_map(|n| format!("a = {}1{}", "{a=".repeat(n), "}".repeat(n))),
        prop::sample::select(vec![
            "0xffffffffffffffffffff".to_string(),
            "18446744073709551616".into(),
            "-1".into(),
            "4294967296".into(),
            "\u{0}".into(),
            "\"".into(),
            "'".into(),
            "<".into(),
            "&amp;&#0;&#xffffffff;".into(),
            "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>".into(),
            "]]>".into(),
            "\n[[register]]\n".into(),
            "\n[[register.field]]\nname = \"F\"\nbits = \"63:0\"\n".into(),
            "width = 128".into(),
            "offset = 0xfffffffffffffffc".into(),
            "<dim>4294967295</dim><dimIncrement>0x4</dimIncrement>".into(),
            "<ipxact:dim>65536</ipxact:dim>".into(),
            "csr_register,x,0xffffffffffffffff,65,rw\n".into(),
            "\"size\": 18446744073709551615".into(),
            ",,,,,,".into(),
            "\u{feff}".into(),
            "é".into(),
        ]),
        any::<String>(),
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), snippet()).prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<usize>(), 0usize..16, snippet()).prop_map(|(at, n, s)| Edit::Replace(at, n, s)),
        (any::<usize>(), 0usize..200).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ]
}

/// The char boundary at or before `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, e: &Edit) {
    match e {
        Edit::Delete(at, n) | Edit::Replace(at, n, _) | Edit::Duplicate(at, n) => {
            let a = boundary(text, *at);
            let b = boundary(text, a.saturating_add(*n).min(text.len()));
            let b = b.max(a);
            match e {
                Edit::Delete(..) => text.replace_range(a..b, ""),
                Edit::Replace(.., s) => text.replace_range(a..b, s),
                _ => {
                    let copy = text[a..b].to_string();
                    text.insert_str(b, &copy);
                }
            }
        }
        Edit::Insert(at, s) => {
            let a = boundary(text, *at);
            text.insert_str(a, s);
        }
    }
}

/// A map parses to blocks that pass the one validation, or fails as an
/// invalid map at a line of the file; a TOML conversion of what parses reads
/// back the same.
fn check_map_text(name: &str, text: &str) -> Result<(), TestCaseError> {
    match mmiodrv::regmap::formats::parse(text, name) {
        Ok(file) => {
            for b in &file.blocks {
                prop_assert!(mmiodrv::regmap::validate(b).is_ok(), "{}: block {} parsed but is invalid", name, b.name);
                let toml = toml_out::to_toml(b, "fuzz");
                let back = mmiodrv::regmap::parse(&toml, "converted");
                prop_assert!(back.is_ok(), "{}: block {} does not read back: {:?}\n{}", name, b.name, back.err(), toml);
                if let Ok(back) = back {
                    prop_assert_eq!(reading::block(b), reading::block(&back), "{}: block {} changed", name, b.name);
                }
            }
        }
        Err(e) => {
            prop_assert_eq!(e.class(), ErrorClass::InvalidMap, "{}: {} is {:?}", name, e, e.class());
            let msg = e.to_string();
            let rest = msg.strip_prefix(&format!("{name}:")).unwrap_or("");
            let line: usize = rest.split(':').next().and_then(|l| l.parse().ok()).unwrap_or(0);
            prop_assert!(line >= 1 && line <= text.lines().count() + 1, "{}: no FILE:LINE in {}", name, msg);
            prop_assert!(msg.len() < 4096, "{}: a {}-byte message", name, msg.len());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn mutated_maps_parse_or_are_invalid_maps(
        which: prop::sample::Index,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let maps = seed_maps();
        prop_assume!(!maps.is_empty());
        let (name, original) = &maps[which.index(maps.len())];
        let mut text = original.clone();
        for e in &edits {
            apply(&mut text, e);
        }
        check_map_text(name, &text)?;
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_text_is_a_map_or_an_invalid_map(text in prop_oneof![any::<String>(), snippet()]) {
        check_map_text("fuzz.map", &text)?;
    }

    /// Maps written from a model: every one either validates and round-trips
    /// through TOML, or is refused with a line.
    #[test]
    fn generated_toml_maps_validate_or_name_a_line(
        regs in prop::collection::vec(
            (
                "[A-Za-z_][A-Za-z0-9_]{0,10}",
                0u64..0x40,
                prop::sample::select(vec![8u32, 16, 32, 64, 12]),
                prop::sample::select(vec!["RO", "RW", "WO", "RW1C", "W1", "XX"]),
                prop::collection::vec(("[A-Z]{1,6}", 0u32..70, 0u32..70, prop::option::of(any::<u64>())), 0..4),
            ),
            0..8,
        ),
        size in prop::option::of(0u64..0x200),
    ) {
        let mut text = String::from("[device]\nname = \"gen\"\n");
        if let Some(s) = size {
            text.push_str(&format!("size = {s}\n"));
        }
        for (name, offset, width, access, fields) in &regs {
            text.push_str(&format!(
                "\n[[register]]\nname = \"{name}\"\noffset = {}\nwidth = {width}\naccess = \"{access}\"\n",
                offset * 4
            ));
            for (fname, msb, lsb, reset) in fields {
                text.push_str(&format!("\n[[register.field]]\nname = \"{fname}\"\nbits = \"{msb}:{lsb}\"\n"));
                if let Some(r) = reset {
                    text.push_str(&format!("reset = {r}\n"));
                }
            }
        }
        check_map_text("gen.toml", &text)?;
    }
}

#[test]
fn the_seed_maps_are_there() {
    // The mutation property is only as good as its seeds.
    assert!(seed_maps().len() >= 12, "{:?}", seed_maps().iter().map(|m| &m.0).collect::<Vec<_>>());
    for (name, text) in seed_maps() {
        let file = mmiodrv::regmap::formats::parse(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        assert!(!file.blocks.is_empty(), "{name}");
    }
}

// ---------------------------------------------------------------- ivshmem protocol

mod ivshmem {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::{Duration, Instant};

    use mmiodrv::error::ErrorClass;
    use mmiodrv_drivers::ivshmem::client::Client;
    use mmiodrv_drivers::ivshmem::protocol;
    use mmiodrv_drivers::ivshmem::server::{Server, ServerConfig};
    use nix::sys::eventfd::{EfdFlags, EventFd};
    use proptest::prelude::*;

    use super::config;

    /// What a hostile server (or peer) sends.
    #[derive(Clone, Debug)]
    pub enum Msg {
        /// A message, with an eventfd, the shared memory, or nothing attached.
        Value(i64, Attach),
        /// Raw bytes (a message cut short, garbage).
        Raw(Vec<u8>),
        /// A pause.
        Wait(u8),
    }

    #[derive(Clone, Copy, Debug)]
    pub enum Attach {
        None,
        EventFd,
        Memory,
    }

    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -1i64..4,
            2 => 0i64..70_000,
            1 => any::<i64>(),
        ]
    }

    fn msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            8 => (value(), prop_oneof![Just(Attach::None), Just(Attach::EventFd), Just(Attach::Memory)])
                .prop_map(|(v, a)| Msg::Value(v, a)),
            1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(Msg::Raw),
            1 => (0u8..5).prop_map(Msg::Wait),
        ]
    }

    /// A greeting that starts right (so the deeper states are reached), then anything.
    fn script() -> impl Strategy<Value = (Vec<Msg>, bool)> {
        let good = prop::collection::vec(any::<bool>(), 3).prop_map(|keep| {
            let mut m = Vec::new();
            if keep[0] {
                m.push(Msg::Value(0, Attach::None));
                if keep[1] {
                    m.push(Msg::Value(3, Attach::None));
                    if keep[2] {
                        m.push(Msg::Value(-1, Attach::Memory));
                    }
                }
            }
            m
        });
        (good, prop::collection::vec(msg(), 0..24), any::<bool>()).prop_map(|(mut g, rest, close)| {
            g.extend(rest);
            (g, close)
        })
    }

    fn play(stream: &UnixStream, msgs: &[Msg]) {
        let mem = tempfile::tempfile().expect("temp file");
        mem.set_len(4096).expect("size");
        let efd = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).expect("eventfd");
        for m in msgs {
            let sent = match m {
                Msg::Value(v, Attach::None) => protocol::send(stream.as_fd(), *v, None),
                Msg::Value(v, Attach::EventFd) => protocol::send(stream.as_fd(), *v, Some(efd.as_fd())),
                Msg::Value(v, Attach::Memory) => protocol::send(stream.as_fd(), *v, Some(mem.as_fd())),
                Msg::Raw(bytes) => (&*stream).write_all(bytes),
                Msg::Wait(ms) => {
                    std::thread::sleep(Duration::from_millis(u64::from(*ms)));
                    Ok(())
                }
            };
            if sent.is_err() {
                return; // the client hung up: fine
            }
        }
    }

    proptest! {
        #![proptest_config(config(32))]

        /// A host client facing a hostile server: connected, or a documented
        /// error, within its timeout (plus the settling time after setup).
        #[test]
        fn client_survives_a_hostile_server((msgs, close) in script()) {
            let dir = tempfile::tempdir().expect("temp dir");
            let sock = dir.path().join("s");
            let listener = UnixListener::bind(&sock).expect("bind");
            let server = std::thread::spawn(move || {
                let (stream, _) = listener.accept().expect("accept");
                play(&stream, &msgs);
                if !close {
                    std::thread::sleep(Duration::from_millis(120));
                }
            });
            let timeout = Duration::from_millis(60);
            let start = Instant::now();
            let result = Client::connect(&sock, timeout);
            let took = start.elapsed();
            match &result {
                Ok(c) => {
                    prop_assert!(c.own_vectors() >= 1);
                    prop_assert!(c.shm_size().is_ok());
                }
                Err(e) => prop_assert!(
                    matches!(e.class(), ErrorClass::Refused | ErrorClass::Timeout | ErrorClass::Io | ErrorClass::Released),
                    "{e} is {:?}", e.class()
                ),
            }
            drop(result);
            prop_assert!(took < Duration::from_secs(2), "connect took {:?}", took);
            server.join().expect("fake server");
        }
    }

    /// A server that greets, then floods announcements and never sends this
    /// peer's vectors: the client gives up at its deadline.
    #[test]
    fn client_gives_up_on_a_flooding_server() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sock = dir.path().join("s");
        let listener = UnixListener::bind(&sock).expect("bind");
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            play(&stream, &[Msg::Value(0, Attach::None), Msg::Value(3, Attach::None), Msg::Value(-1, Attach::Memory)]);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                if protocol::send(stream.as_fd(), 5, None).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let e = Client::connect(&sock, Duration::from_millis(200)).err().expect("no client from a flood");
        assert_eq!(e.class(), ErrorClass::Timeout, "{e}");
        assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
        server.join().expect("fake server");
    }

    struct Running {
        stop: EventFd,
        thread: Option<std::thread::JoinHandle<()>>,
        socket: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    fn start() -> Running {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = ServerConfig::new(dir.path().join("ivshmem.sock"), dir.path().join("shm"), 64 << 10, 2);
        let mut server = Server::bind(&cfg).expect("server");
        let stop = EventFd::from_flags(EfdFlags::EFD_NONBLOCK).expect("eventfd");
        let stop_fd = stop.as_fd().try_clone_to_owned().expect("dup");
        let thread = std::thread::spawn(move || {
            server.run(Some(stop_fd.as_fd()), &mut |_| {}).expect("the server survives its peers");
        });
        Running { stop, thread: Some(thread), socket: cfg.socket, _dir: dir }
    }

    proptest! {
        #![proptest_config(config(8))]

        /// The server facing hostile peers (garbage, fds, messages cut short,
        /// hanging up at any point): it keeps serving, and a well-behaved peer
        /// that comes next is set up completely.
        #[test]
        fn server_survives_hostile_peers(peers in prop::collection::vec((prop::collection::vec(msg(), 0..12), any::<bool>()), 1..4)) {
            let srv = start();
            let mut kept = Vec::new();
            for (msgs, hang_up) in &peers {
                let stream = UnixStream::connect(&srv.socket).expect("connect");
                play(&stream, msgs);
                if *hang_up {
                    drop(stream);
                } else {
                    kept.push(stream);
                }
            }
            let client = Client::connect(&srv.socket, Duration::from_secs(2));
            prop_assert!(client.is_ok(), "a good peer after hostile ones: {:?}", client.err());
            let mut client = client.expect("checked");
            prop_assert_eq!(client.own_vectors(), 2);
            // It can ring itself through the server's eventfds.
            prop_assert!(client.ring(client.id(), 1).is_ok());
            prop_assert_eq!(client.wait(Some(1), Duration::from_secs(1)).expect("rung").0, 1);
            drop(kept);
            srv.stop.write(1).expect("stop");
            let mut srv = srv;
            srv.thread.take().expect("thread").join().expect("the server thread did not panic");
        }
    }
}

// ---------------------------------------------------------------- setpci, config space, lspci's printers

/// Text a setpci user would type: names, offsets, widths, instances, values.
fn setpci_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z_]{0,12}[0-9a-fA-F]{0,4}(\\+[0-9a-fA-FxX]{0,5})?(\\.[bBwWlLq]{0,2})?(@[0-9a-fA-F+\\-x]{0,4})?(=[0-9a-fA-F:,\\-x]{0,20})?",
        "(CAP|ECAP)_?[A-Z0-9_]{0,8}(\\+[0-9a-f]{1,3})?\\.[bwl](@[0-9]{1,2})?",
        "(EXP|PM|MSI|AER|VNDR@1)\\.[A-Z0-9_]{0,8}(\\.[A-Z0-9_]{0,8})?",
    ]
}

/// A config space: random bytes with a capability list more often than not.
fn config_bytes() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(any::<u8>(), 0..4097), any::<bool>(), any::<u8>()).prop_map(|(mut b, list, at)| {
        if list && b.len() > 0x40 {
            b[6] |= 0x10;
            b[0x34] = at;
        }
        b
    })
}

proptest! {
    #![proptest_config(config(512))]

    /// setpci's parser: an operation, or setpci's words for what is wrong;
    /// an operation resolves on any config space to an address inside 4 KiB
    /// or to setpci's words.
    #[test]
    fn setpci_operations_parse_or_say_why(text in setpci_text(), bytes in config_bytes()) {
        let config = mmiodrv::pci::ConfigSpace::new(bytes);
        match mmiodrv::pci::setpci::parse_operation(&text) {
            Ok(op) => {
                prop_assert!(matches!(op.width, 1 | 2 | 4), "{text:?}");
                if let Ok(addr) = op.address(&config) {
                    prop_assert!(addr + u32::from(op.width) <= 0x1000 && addr % u32::from(op.width) == 0, "{text:?}");
                }
            }
            Err(p) => prop_assert!(!p.to_string().is_empty() && p.when_parsing()),
        }
    }

    /// The config register map of any bytes, and any target on it: a place
    /// inside what was read, or a documented error.
    #[test]
    fn config_targets_resolve_or_are_refused(text in setpci_text(), bytes in config_bytes()) {
        let config = mmiodrv::pci::ConfigSpace::new(bytes);
        let map = mmiodrv::pci::config_map::map(&config);
        for r in map.registers.iter() {
            prop_assert!(r.end() as usize <= config.len(), "{} past {}", r.name, config.len());
        }
        match mmiodrv::pci::config_target::ConfigTarget::resolve(&text, &config, &map) {
            Ok(t) => {
                if t.width.is_none() {
                    prop_assert!(t.in_map(&map).is_ok(), "{text:?} -> {}", t.target);
                }
            }
            Err(e) => prop_assert!(
                matches!(e.class(), ErrorClass::Usage | ErrorClass::NotFound | ErrorClass::Refused),
                "{text:?}: {e} ({:?})", e.class()
            ),
        }
    }

    /// lspci's printers on any bytes: every option set prints without a
    /// panic, the title first; the tree of any set of functions draws.
    #[test]
    fn lspci_prints_any_config_space(bytes in config_bytes(), verbosity in 0u8..4, hex in 0u8..5, numeric in 0u8..3) {
        use mmiodrv::pci::lspci::show::{show, Facts, Function, ShowOptions};
        let ids = mmiodrv::pci::ids::PciIds::default();
        let facts = Facts::default();
        let f = Function { domain: 0, bus: 1, device: 2, function: 3, config: &bytes, facts: &facts };
        let opt = ShowOptions {
            verbosity,
            numeric: mmiodrv::pci::ids::Numeric::from_count(numeric),
            kernel: true,
            hex,
            domain: false,
            ids: &ids,
            vpd: None,
        };
        let shown = show(&f, &opt);
        prop_assert!(shown.lines.first().is_some_and(|l| l.starts_with("01:02.3 ")));
        let node = mmiodrv::pci::lspci::tree::Node {
            bus: 1,
            device: 2,
            class: 0x0604,
            config: bytes.iter().copied().take(64).collect(),
            selected: true,
            ..Default::default()
        };
        prop_assert!(!mmiodrv::pci::lspci::tree::draw(&[node.clone(), node], true, None).is_empty());
    }
}
