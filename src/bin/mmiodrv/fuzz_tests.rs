//! Property tests of the command line's parsers on hostile input (issue 12,
//! point 6): whole argument vectors (the fast path and clap), batch lines
//! (the word splitter, the fast line parser and clap's). Never a panic; a
//! usage error (exit status 2) or a parse that both parsers agree on. Fixed
//! seed and case budget, nothing persisted (as in tests/fuzz_parsers.rs).

use std::ffi::OsString;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use crate::batch::{fast_line, line_command, parse_words, words, Parser};

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

fn argv(words: &[String]) -> Vec<OsString> {
    std::iter::once("mmiodrv".to_string()).chain(words.iter().cloned()).map(OsString::from).collect()
}

/// A word quoted for the batch language: double quotes, backslash escapes.
fn quote(w: &str) -> String {
    format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
}

thread_local! {
    /// One line parser for every case (as a batch run has one): clap's
    /// command is built once.
    static PARSER: std::cell::RefCell<Parser> = std::cell::RefCell::new(Parser::default());
    static CLAP: std::cell::RefCell<clap::Command> = std::cell::RefCell::new(line_command());
}

proptest! {
    // Each case builds clap's command tree (debug assertions included): few cases.
    #![proptest_config(config(64))]

    /// A command line parses (and the fast path, where it accepts it, to the
    /// same command) or is a usage error clap words itself.
    #[test]
    fn command_lines_parse_or_are_usage_errors(words in prop::collection::vec(word(), 0..8)) {
        let argv = argv(&words);
        let fast = crate::fast::parse(&argv);
        match crate::args::parse(argv.clone()) {
            Ok(cli) => {
                if let Some(f) = fast {
                    prop_assert_eq!(format!("{f:?}"), format!("{cli:?}"), "{:?}", words);
                }
            }
            Err(e) => {
                prop_assert!(fast.is_none(), "the fast path accepted what clap refuses: {:?}: {}", words, e);
                // Help and version are not errors; every other kind renders to one line.
                let text = e.render().to_string();
                prop_assert!(!text.is_empty());
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

    /// A batch line parses to an operation, or is a usage error (exit 2);
    /// where the fast line parser accepts it, clap reads the same operation.
    #[test]
    fn batch_lines_parse_or_are_usage_errors(ws in prop::collection::vec(word(), 1..7)) {
        let parsed = PARSER.with(|p| p.borrow_mut().parse(&ws));
        if let Err(e) = &parsed {
            prop_assert_eq!(crate::render::exit_status(e), 2, "{:?}: {}", ws, e);
        }
        if let Some(fast) = fast_line(&ws) {
            let slow = CLAP.with(|c| parse_words(&mut c.borrow_mut(), &ws));
            prop_assert!(slow.is_ok(), "fast parser accepted {:?}, clap refused it: {:?}", ws, slow.err());
            prop_assert_eq!(format!("{fast:?}"), format!("{:?}", slow.expect("checked")));
        }
    }
}
