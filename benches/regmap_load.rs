//! Loading and checking register maps of 65,536 registers, in each format
//! (issue 23, point 3): `cargo bench --bench regmap_load` prints the time of
//! each, best of three. Not a timed test: the figures go in docs/testing.md,
//! and `cargo test --benches` only checks that every map still loads.
//!
//! Before the fixes a LiteX csr.json of 20,000 registers took over
//! 20 s (each key's line was found by rescanning the whole text) and checking
//! 65,536 registers for overlaps 7.8 s (every pair); both are linear now.

use std::time::{Duration, Instant};

use mmiodrv::regmap::formats::parse;

const N: usize = 65_536;

fn litex_json() -> String {
    let mut s = String::from("{\n  \"csr_bases\": {\n");
    // 256 blocks of 256 registers: the block lookup is exercised too.
    for b in 0..256 {
        s.push_str(&format!("    \"blk{b}\": {},\n", b * 0x1000));
    }
    s.push_str("    \"last\": 1048576\n  },\n  \"csr_registers\": {\n");
    for i in 0..N {
        let (b, r) = (i / 256, i % 256);
        let comma = if i + 1 < N { "," } else { "" };
        s.push_str(&format!(
            "    \"blk{b}_reg{r}\": {{\"addr\": {}, \"size\": 1, \"type\": \"rw\"}}{comma}\n",
            b * 0x1000 + r * 4
        ));
    }
    s.push_str("  },\n  \"constants\": {}\n}\n");
    s
}

fn litex_csv() -> String {
    let mut s = String::from("csr_base,ctrl,0x0,,\n");
    for i in 0..N {
        s.push_str(&format!("csr_register,ctrl_r{i},{:#x},1,rw\n", i * 4));
    }
    s
}

fn toml() -> String {
    let mut s = String::from("[device]\nname = \"big\"\n");
    for i in 0..N {
        s.push_str(&format!("[[register]]\nname = \"R{i}\"\noffset = {}\nwidth = 32\naccess = \"RW\"\n", i * 4));
    }
    s
}

fn svd() -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<device><name>D</name><addressUnitBits>8</addressUnitBits><width>32</width><size>32</size>\
         <access>read-write</access><peripherals><peripheral><name>P</name><baseAddress>0</baseAddress><registers>\
         <register><dim>{N}</dim><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register>\
         </registers></peripheral></peripherals></device>\n"
    )
}

fn ipxact() -> String {
    String::from(
        "<?xml version=\"1.0\"?>\n<ipxact:component xmlns:ipxact=\"http://www.accellera.org/XMLSchema/IPXACT/1685-2014\">\
         <ipxact:memoryMaps><ipxact:memoryMap><ipxact:name>m</ipxact:name><ipxact:addressBlock><ipxact:name>b</ipxact:name>\
         <ipxact:baseAddress>0</ipxact:baseAddress><ipxact:registerFile><ipxact:name>F</ipxact:name><ipxact:dim>256</ipxact:dim>\
         <ipxact:addressOffset>0</ipxact:addressOffset><ipxact:range>1024</ipxact:range><ipxact:register><ipxact:name>R</ipxact:name>\
         <ipxact:dim>256</ipxact:dim><ipxact:addressOffset>0</ipxact:addressOffset><ipxact:size>32</ipxact:size></ipxact:register>\
         </ipxact:registerFile></ipxact:addressBlock></ipxact:memoryMap></ipxact:memoryMaps></ipxact:component>\n",
    )
}

fn main() {
    // `cargo test --benches` passes --bench-less arguments: load once, no timing.
    let timed = std::env::args().any(|a| a == "--bench");
    let maps: [(&str, String); 5] = [
        ("LiteX csr.json", litex_json()),
        ("LiteX csr.csv", litex_csv()),
        ("mmiodrv TOML", toml()),
        ("CMSIS-SVD (dim)", svd()),
        ("IP-XACT (nested dims)", ipxact()),
    ];
    println!("loading and checking {N} registers (best of 3):");
    for (what, text) in &maps {
        let mut best = Duration::MAX;
        for _ in 0..if timed { 3 } else { 1 } {
            let start = Instant::now();
            let file = parse(text, what).unwrap_or_else(|e| panic!("{what}: {e}"));
            best = best.min(start.elapsed());
            let regs: usize = file.blocks.iter().map(|b| b.registers.len()).sum();
            assert_eq!(regs, N, "{what}");
        }
        println!("  {what:<24} {:>8.1} ms  ({} bytes)", best.as_secs_f64() * 1e3, text.len());
    }
}
