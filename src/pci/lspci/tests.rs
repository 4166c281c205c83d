//! The decoder on hostile bytes: any config space decodes without a panic
//! and in bounded time; lists that loop stop as lspci stops them.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x6c73_7063_6931_3234),
        failure_persistence: None,
        max_shrink_iters: 128,
        ..ProptestConfig::default()
    }
}

/// Random bytes shaped so that both lists are walked: a capability list, a
/// PCI Express capability first, an extended header at 0x100.
fn shaped(mut c: Vec<u8>, header: u8, ext: u32) -> Vec<u8> {
    if c.len() >= 0x48 {
        c[0x06] |= 0x10;
        c[0x0e] = header;
        c[0x14] = 0x40;
        c[0x34] = 0x40;
        c[0x40] = 0x10;
    }
    if c.len() >= 0x104 {
        c[0x100..0x104].copy_from_slice(&ext.to_le_bytes());
    }
    c
}

fn decode_all(c: &[u8], device: u8, function: u8) -> usize {
    let mut lines = 0;
    for verbosity in 0..=4 {
        let opts = Options::default().with_verbosity(verbosity).at(device, function);
        let blocks = decode(c, &opts);
        lines += self::lines(&blocks).count();
        for b in &blocks {
            assert!(b.lines.first().is_some_and(|l| l.starts_with("\tCapabilities: ")), "{b:?}");
        }
    }
    lines
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_decode(c in proptest::collection::vec(any::<u8>(), 0..=4096), device in 0u8..32, function in 0u8..8) {
        decode_all(&c, device, function);
    }

    #[test]
    fn shaped_bytes_decode(
        c in proptest::collection::vec(any::<u8>(), 4096),
        header in 0u8..4,
        ext in any::<u32>(),
        cut in 0usize..=4096,
        vpd in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let c = shaped(c, header, ext);
        decode_all(&c, 0, 0);
        decode_all(&c[..cut], 1, 0);
        let ids = crate::pci::ids::PciIds::default();
        let opts = Options { vpd: Some(&vpd), memory_bar: Some(true), ..Options::default().with_ids(&ids) };
        decode(&c, &opts);
    }

    #[test]
    fn dump_parser_never_panics(text in "([0-9a-f]{2,9}(:|\\.)?[0-9a-f ]{0,60}\n|\n|.{0,300}){0,40}") {
        let _ = dump::parse(&text);
    }
}

#[test]
fn worst_case_is_bounded() {
    // Every capability pointing to the next at the smallest step, extended
    // capabilities every 4 bytes, all bits set in the bodies.
    let mut c = vec![0xffu8; 4096];
    c[0x06] = 0x10;
    c[0x0e] = 0;
    c[0x34] = 0x40;
    for at in (0x40..0x100).step_by(4) {
        c[at] = [0x10, 0x14, 0x08, 0x05, 0x02][at / 4 % 5];
        c[at + 1] = if at + 4 < 0x100 { (at + 4) as u8 } else { 0x40 };
    }
    for at in (0x100..0x1000).step_by(4) {
        let next = if at + 4 < 0x1000 { at + 4 } else { 0x100 };
        let id = [0x02u32, 0x05, 0x23, 0x15, 0x01][at / 4 % 5];
        c[at..at + 4].copy_from_slice(&(id | (1 << 16) | ((next as u32) << 20)).to_le_bytes());
    }
    let start = Instant::now();
    let lines = decode_all(&c, 0, 0);
    assert!(lines > 1000);
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
}

#[test]
fn loops_and_breaks_are_worded_as_lspci() {
    let mut c = vec![0u8; 4096];
    c[0x06] = 0x10;
    c[0x34] = 0x40;
    c[0x40..0x44].copy_from_slice(&[0x10, 0x50, 0x02, 0x00]); // endpoint
    c[0x50..0x54].copy_from_slice(&[0x01, 0x40, 0x03, 0x00]); // PM, back to 0x40
    c[0x100..0x104].copy_from_slice(&(0x2fu32 | (1 << 16) | (0x100 << 20)).to_le_bytes());
    let blocks = capability_blocks(&c, 1);
    let firsts: Vec<&str> = blocks.iter().map(|b| b.lines[0].as_str()).collect();
    assert_eq!(
        firsts,
        [
            "\tCapabilities: [40] Express Endpoint, MSI 00",
            "\tCapabilities: [50] Power Management version 3",
            "\tCapabilities: [40] <chain looped>",
            "\tCapabilities: [100] Extended Capability ID 0x2f",
            "\tCapabilities: [100] <chain looped>",
        ]
    );
    assert_eq!(blocks[2].kind, Kind::Looped);
    c[0x51] = 0x60;
    c[0x60] = 0xff;
    let blocks = capability_blocks(&c, 2);
    assert_eq!(blocks[2].lines[0], "\tCapabilities: [60] <chain broken>");
    assert_eq!(blocks[3].lines[0], "\tCapabilities: [100 v1] Extended Capability ID 0x2f");
    // A pointer past what was read.
    let blocks = capability_blocks(&c[..0x50], 2);
    assert_eq!(blocks.last().map(|b| b.lines[0].as_str()), Some("\tCapabilities: <access denied>"));
}

#[test]
fn fields_are_named() {
    let mut c = vec![0u8; 256];
    c[0x06] = 0x10;
    c[0x34] = 0x40;
    c[0x40..0x44].copy_from_slice(&[0x10, 0x00, 0x02, 0x00]);
    c[0x52] = 0x41; // LnkSta: 2.5GT/s x4
    let blocks = capability_blocks(&c, 2);
    let field = |name: &str| blocks[0].fields.iter().find(|f| f.name == name).map(|f| f.value.clone());
    assert_eq!(field("LnkSta.Speed"), Some(Value::Text("2.5GT/s".into())));
    assert_eq!(field("LnkSta.Width"), Some(Value::Number(4)));
    assert_eq!(field("DevCtl.MaxPayload"), Some(Value::Number(128)));
    assert_eq!(field("DevSta.CorrErr"), Some(Value::Flag(false)));
    assert!(serde_json::to_string(&blocks).is_ok());
}
