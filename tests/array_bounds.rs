//! Array expansion in every map format is counted before anything is
//! allocated (issue 23, point 3): property tests over SVD (`dim` of nested
//! clusters and registers, `dimIndex` ranges, `derivedFrom` copies), IP-XACT
//! (`dim`s of registers inside nested register files) and LiteX (many CSRs).
//! A file whose arrays fit is read with exactly the product of its dims as
//! registers; one that does not is refused, fast, with "counted before
//! expanding" and the line of the element, never after expanding it (before
//! the fix, an SVD `dim` of 10^7 took 9.8 s and 1.2 GB, nested IP-XACT arrays
//! 2^20 x 1024 aborted at 1.5 GB).

use std::time::{Duration, Instant};

use mmiodrv::regmap::formats::{parse, MAX_FILE_REGISTERS};
use proptest::prelude::*;

/// An SVD device: one peripheral whose clusters nest with `clusters` dims,
/// holding one register array of `regs` elements.
fn svd(clusters: &[u64], regs: u64) -> String {
    let mut inner = format!(
        "<register><dim>{regs}</dim><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register>"
    );
    // Each cluster level spans the one inside it.
    let mut span = regs * 4;
    for (i, d) in clusters.iter().enumerate().rev() {
        inner = format!(
            "<cluster><dim>{d}</dim><dimIncrement>{span:#x}</dimIncrement><name>C{i}[%s]</name><addressOffset>0</addressOffset>{inner}</cluster>"
        );
        span = span.saturating_mul(*d);
    }
    format!(
        "<?xml version=\"1.0\"?>\n<device><name>D</name><addressUnitBits>8</addressUnitBits><width>32</width><size>32</size>\
         <access>read-write</access><peripherals>\n<peripheral><name>P</name><baseAddress>0</baseAddress><registers>\n{inner}\n\
         </registers></peripheral></peripherals></device>\n"
    )
}

/// An IP-XACT 2014 component: register files nested with `files` dims,
/// holding a register with `regs` dims.
fn ipxact(files: &[u64], regs: &[u64]) -> String {
    let dims = |ds: &[u64]| ds.iter().map(|d| format!("<ipxact:dim>{d}</ipxact:dim>")).collect::<String>();
    let count: u64 = regs.iter().product();
    let mut inner = format!(
        "<ipxact:register><ipxact:name>R</ipxact:name>{}<ipxact:addressOffset>0</ipxact:addressOffset><ipxact:size>32</ipxact:size></ipxact:register>",
        dims(regs)
    );
    let mut span = count.saturating_mul(4);
    for (i, d) in files.iter().enumerate().rev() {
        inner = format!(
            "<ipxact:registerFile><ipxact:name>F{i}</ipxact:name>{}<ipxact:addressOffset>0</ipxact:addressOffset><ipxact:range>{span}</ipxact:range>{inner}</ipxact:registerFile>",
            dims(&[*d])
        );
        span = span.saturating_mul(*d);
    }
    format!(
        "<?xml version=\"1.0\"?>\n<ipxact:component xmlns:ipxact=\"http://www.accellera.org/XMLSchema/IPXACT/1685-2014\">\
         <ipxact:memoryMaps><ipxact:memoryMap><ipxact:name>m</ipxact:name>\n<ipxact:addressBlock><ipxact:name>b</ipxact:name>\
         <ipxact:baseAddress>0</ipxact:baseAddress>\n{inner}\n</ipxact:addressBlock></ipxact:memoryMap></ipxact:memoryMaps></ipxact:component>\n"
    )
}

/// Dims: mostly small (whose product stays readable), sometimes huge.
fn dim() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..6, 1 => 1_000u64..20_000, 1 => Just(1u64 << 20), 1 => Just(10_000_000u64)]
}

/// A refusal of arrays that do not fit: class InvalidMap, the message says
/// so, and it came before any expansion (fast).
fn refused_before_expanding(r: mmiodrv::Result<mmiodrv::regmap::formats::MapFile>, took: Duration, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.class(), mmiodrv::ErrorClass::InvalidMap, "{what}: {e}");
    assert!(e.to_string().contains("counted before expanding"), "{what}: {e}");
    assert!(took < Duration::from_secs(2), "{what}: refused after {took:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// SVD: nested cluster arrays around a register array. Up to 4096
    /// registers: read, exactly the product; past the file's limit: refused
    /// before expanding.
    #[test]
    fn svd_arrays_are_counted_first(clusters in proptest::collection::vec(dim(), 0..4), regs in dim()) {
        let total = clusters.iter().fold(regs, |a, d| a.saturating_mul(*d));
        let text = svd(&clusters, regs);
        let start = Instant::now();
        let r = parse(&text, "p.svd");
        let took = start.elapsed();
        if total <= 4096 {
            let file = r.unwrap_or_else(|e| panic!("{total} registers: {e}"));
            prop_assert_eq!(file.blocks[0].registers.len() as u64, total);
        } else if total > MAX_FILE_REGISTERS {
            refused_before_expanding(r, took, &format!("{clusters:?} x {regs}"));
        }
    }

    /// IP-XACT: register files nested with dims, a register with several
    /// dims inside. As for SVD.
    #[test]
    fn ipxact_arrays_are_counted_first(
        files in proptest::collection::vec(dim(), 0..4),
        regs in proptest::collection::vec(dim(), 0..3),
    ) {
        let total = files.iter().chain(&regs).fold(1u64, |a, d| a.saturating_mul(*d));
        let text = ipxact(&files, &regs);
        let start = Instant::now();
        let r = parse(&text, "p.xml");
        let took = start.elapsed();
        if total <= 4096 {
            let file = r.unwrap_or_else(|e| panic!("{total} registers: {e}"));
            prop_assert_eq!(file.blocks[0].registers.len() as u64, total);
        } else if total > MAX_FILE_REGISTERS {
            refused_before_expanding(r, took, &format!("{files:?} / {regs:?}"));
        }
    }
}

/// The cases of the issue, one each: a 700-byte SVD with `dim` 10^7, a
/// `dimIndex` range of 4*10^9 (which svd-parser spells out while parsing),
/// `derivedFrom` doubling a cluster thirty times, and IP-XACT arrays
/// 2^20 x 1024.
#[test]
fn the_issues_files_are_refused_at_once() {
    let cases = [
        ("dim 10^7", svd(&[], 10_000_000)),
        ("dimIndex 0-4000000000", svd(&[], 4).replace("<dim>4</dim>", "<dim>4</dim><dimIndex>0-4000000000</dimIndex>")),
        ("nested IP-XACT 2^20 x 1024", ipxact(&[1 << 20], &[1024])),
    ];
    for (what, text) in cases {
        let start = Instant::now();
        let r = parse(&text, "f");
        let e = r.expect_err(what);
        assert!(start.elapsed() < Duration::from_secs(2), "{what}: {:?}", start.elapsed());
        assert!(e.to_string().contains("a map file may hold at most"), "{what}: {e}");
    }
    // derivedFrom: cluster Dn holds two clusters derived from D(n-1): 2^30 registers.
    let mut clusters = String::from("<cluster><name>D0</name><addressOffset>0</addressOffset><register><name>R</name><addressOffset>0</addressOffset></register></cluster>");
    for n in 1..=30 {
        clusters.push_str(&format!(
            "<cluster><name>D{n}</name><addressOffset>0</addressOffset>\
             <cluster derivedFrom=\"D{m}\"><name>A{n}</name><addressOffset>0</addressOffset></cluster>\
             <cluster derivedFrom=\"D{m}\"><name>B{n}</name><addressOffset>0</addressOffset></cluster></cluster>",
            m = n - 1
        ));
    }
    let text = svd(&[], 1).replace(
        "<register><dim>1</dim><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register>",
        &clusters,
    );
    let start = Instant::now();
    let e = parse(&text, "derived.svd").expect_err("2^30 registers by derivation");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert!(e.to_string().contains("counted before expanding"), "{e}");
    // A derivation that reaches itself.
    let cyclic = svd(&[], 1).replace(
        "<register><dim>1</dim>",
        "<cluster derivedFrom=\"Y\"><name>X</name><addressOffset>0</addressOffset></cluster>\
         <cluster derivedFrom=\"X\"><name>Y</name><addressOffset>0</addressOffset></cluster><register><dim>1</dim>",
    );
    let e = parse(&cyclic, "cyclic.svd").expect_err("a cycle");
    assert!(e.to_string().contains("leads back"), "{e}");
}

/// LiteX: more CSRs than a map file may hold are refused before blocks are built.
#[test]
fn litex_counts_its_registers() {
    let n = MAX_FILE_REGISTERS + 1;
    let mut csv = String::from("csr_base,a,0x0,,\n");
    for i in 0..n {
        csv.push_str(&format!("csr_register,a_r{i},{:#x},1,rw\n", i * 4));
    }
    let start = Instant::now();
    let e = parse(&csv, "csr.csv").expect_err("too many");
    assert!(e.to_string().contains("more than 262144 registers"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

/// SystemRDL: the helper counts the arrays of the elaborated design before
/// it unrolls them (before: a million registers were unrolled into JSON).
/// Needs tests/data/fetch.sh's venv (the compiler); said loudly when missing.
#[test]
fn systemrdl_arrays_are_counted_first() {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/regmap-data/venv/bin/python");
    if !python.exists() {
        eprintln!(
            "!!!!! SKIPPING systemrdl_arrays_are_counted_first: no SystemRDL compiler (run tests/data/fetch.sh) !!!!!"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rdl = dir.path().join("big.rdl");
    std::fs::write(&rdl, "addrmap big {\n    reg { field {} f[32]=0; } regs[1000000];\n};\n").unwrap();
    std::env::set_var("MMIODRV_PYTHON", &python);
    let start = Instant::now();
    let e = mmiodrv::regmap::load_file(&rdl).expect_err("a million registers");
    assert!(e.to_string().contains("its arrays expand to 1000000 registers"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
}
