//! The generated registers on a simulated edu (the map's semantics, no
//! hardware), and the committed copies fresh.

use std::path::Path;

use mmiodrv::backend::BarOptions;
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::regmap::generate::rust::{check_fresh, Options};

#[test]
fn every_format_drives_a_simulated_edu() {
    for map in ["toml", "svd", "ipxact.xml"] {
        let spec = format!("sim:{}/../maps/edu.{map}", env!("CARGO_MANIFEST_DIR"));
        let device = Device::open(&spec, OpenOptions::default()).unwrap();
        let bar = device.backend().open_bar(0, BarOptions::RW).unwrap();
        let seen = generated_edu::exercise(bar.as_ref()).unwrap();
        assert_eq!(seen.len(), 4);
        for (format, s) in seen {
            // A simulated edu stores what is written (no inversion, no DMA engine).
            assert_eq!(
                (s.id, s.magic, s.liveness, s.dma_cmd),
                (0x0100_00ed, 0xed, 0x1234_5678, 0x2),
                "{format} on {spec}"
            );
        }
    }
}

#[test]
fn the_committed_registers_are_what_the_maps_generate() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    // SystemRDL is compiled by tests/data/fetch.sh's venv.
    // (Not canonicalized: the venv's python is a link to the one it was made from.)
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/regmap-data/venv/bin/python");
    if std::env::var_os("MMIODRV_PYTHON").is_none() && venv.exists() {
        std::env::set_var("MMIODRV_PYTHON", &venv);
    }
    let rdl_compiler = std::env::var_os("MMIODRV_PYTHON").is_some() || std::env::var("CI").as_deref() == Ok("true");
    for (map, file) in [("svd", "edu_svd"), ("ipxact.xml", "edu_ipxact"), ("rdl", "edu_rdl")] {
        if map == "rdl" && !rdl_compiler {
            eprintln!("!!!!! SKIPPING the freshness of src/generated/edu_rdl.rs: no MMIODRV_PYTHON (tests/data/fetch.sh's venv) !!!!!");
            continue;
        }
        let committed = Path::new("src/generated").join(format!("{file}.rs"));
        check_fresh(&format!("../maps/edu.{map}"), None, &committed, &Options::default()).unwrap_or_else(|e| {
            panic!(
                "{e}: in examples/generated-edu, mmiodrv regmap generate ../maps/edu.{map} --lang rust -o {}",
                committed.display()
            )
        });
    }
}
