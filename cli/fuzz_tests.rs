//! Property tests of the one parser on hostile input (issue 12, point 6):
//! whole command lines, batch lines (the word splitter, then the grammar).
//! Never a panic; a parse that builds its operation, or a usage error (exit
//! status 2). Fixed seed and case budget, nothing persisted (as in
//! tests/fuzz_parsers.rs).

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use crate::output::errors::exit_status;
use mmiodrv::session::words;

/// The one seed of every property here (tests/fuzz_parsers.rs uses the same).
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

/// Words a command line is made of: real commands, options and values, the
/// values options must refuse, and anything.
fn word() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = vec![
        "read",
        "write",
        "dump-regs",
        "wait-irq",
        "bind",
        "unbind",
        "list",
        "info",
        "config",
        "batch",
        "regmap",
        "edu",
        "ivshmem",
        "e1000",
        "ivshmem-server",
        "factorial",
        "irq",
        "raise",
        "dma",
        "to-device",
        "from-device",
        "fill",
        "dump",
        "client",
        "check",
        "show",
        "convert",
        "poll",
        "expect",
        "sleep",
        "echo",
        "arm",
        "alloc",
        "-d",
        "--device",
        "--backend",
        "--state",
        "--force",
        "--json",
        "-v",
        "-vv",
        "--width",
        "--bar",
        "--regmap",
        "--block",
        "--wc",
        "--quiet",
        "-q",
        "--verify",
        "--wait-irq",
        "--index",
        "--vector",
        "--timeout",
        "--count",
        "--offset",
        "--len",
        "--all",
        "--diff-reset",
        "--restore",
        "--mask",
        "--iova",
        "--mask-bits",
        "--hex",
        "--string",
        "--buffer",
        "--out",
        "--to",
        "--check",
        "--keep-going",
        "--help",
        "-h",
        "--version",
        "--",
        "-",
        "ID",
        "LIVENESS",
        "STATUS.COMPUTING",
        "IRQ_RAISE",
        "ID.MAJOR",
        "0x0",
        "0x4",
        "0x80",
        "4096",
        "1M",
        "8",
        "12",
        "16",
        "32",
        "64",
        "-32",
        "-1",
        "0",
        "9",
        "2047",
        "2048",
        "4294967296",
        "18446744073709551615",
        "99999999999999999999",
        "0x",
        "vfio-pci",
        "uio_pci_generic",
        "e1000",
        "msi",
        "msix",
        "intx",
        "auto",
        "sysfs",
        "ffff:00:04.0",
        "00:04.0",
        "1234:11e8",
        "file:",
        "sim:",
        "file:/dev/zero",
        "--width=-32",
        "--bar=6",
        "=",
    ];
    prop_oneof![
        12 => prop::sample::select(known).prop_map(str::to_string),
        2 => any::<String>(),
        1 => (1usize..70_000).prop_map(|n| "A".repeat(n)),
        2 => "--[a-z-]{1,12}(=.{0,6})?",
    ]
}

/// A word quoted for the batch language: double quotes, backslash escapes.
fn quote(w: &str) -> String {
    format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
}

proptest! {
    #![proptest_config(config(512))]

    /// A command line parses, and an operation it names builds, or it is a
    /// usage error in one line.
    #[test]
    fn command_lines_parse_or_are_usage_errors(words in prop::collection::vec(word(), 0..8)) {
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let tree = crate::cli::tree_with(&crate::commands::PROGRAM);
        match crate::cli::parse(&refs, tree) {
            Ok(parsed) if !parsed.help && crate::oneshot::on_device(&parsed, &crate::cli::Global::default()) => {
                if let Err(e) = mmiodrv::session::Op::from_args(&parsed.path, &parsed.args) {
                    prop_assert_eq!(exit_status(&e), 2, "{:?}: {}", words, e);
                }
            }
            Ok(_) => {}
            Err(e) => {
                prop_assert_eq!(exit_status(&e), 2, "{:?}: {}", words, e);
                prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Words split from a line come back from the same words quoted.
    #[test]
    fn batch_words_round_trip(ws in prop::collection::vec(any::<String>(), 0..8)) {
        let line: Vec<String> = ws.iter().map(|w| quote(w)).collect();
        prop_assert_eq!(words(&line.join(" ")).unwrap(), ws);
    }

    /// Any line splits into words or is refused with a message.
    #[test]
    fn batch_lines_split_or_are_refused(line in prop_oneof![any::<String>(), "[ a-z'\"\\\\#]{0,40}"]) {
        match words(&line) {
            Ok(ws) => prop_assert!(ws.iter().all(|w| !w.is_empty() || line.contains("''") || line.contains("\"\""))),
            Err(why) => prop_assert!(why.contains("quote"), "{}", why),
        }
    }

    /// A batch line parses to an operation, or is a usage error (exit 2).
    #[test]
    fn batch_lines_parse_or_are_usage_errors(ws in prop::collection::vec(word(), 1..7)) {
        let line = ws.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        let parsed = mmiodrv::session::parse_line(&line, &mmiodrv::session::line_commands()).map(drop);
        if let Err(e) = &parsed {
            prop_assert_eq!(exit_status(e), 2, "{:?}: {}", ws, e);
        }
    }
}
