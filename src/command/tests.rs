use std::time::Duration;

use super::*;

const FACTORIAL: Command = Command::new("factorial", "compute N!", Run::Op).args(&[
    Arg::positional("N", Value::Bits(32), "the number"),
    Arg::flag("irq", "wait for the interrupt"),
    Arg::option("timeout", Value::Millis, "give up after MS").default("5000"),
]);
const READ: Command = Command::new("read", "read", Run::Op).args(&[
    Arg::positional("TARGET", Value::Text, "what"),
    Arg::option("width", Value::Width, "bits"),
    Arg::flag("quiet", "only the value").short('q'),
    Arg::option("regmap", Value::Path, "map").session(),
]);
const ECHO: Command =
    Command::new("echo", "echo", Run::Op).args(&[Arg::positional("TEXT", Value::Text, "text").trailing().optional()]);
const DUMP: Command = Command::new("dump-regs", "dump", Run::Op).aliases(&["dump"]).args(&[Arg::positional(
    "REGISTER",
    Value::Text,
    "names",
)
.many()
.optional()]);
const RAISE: Command = Command::new("raise", "raise", Run::Op).args(&[
    Arg::positional("VALUE", Value::Bits(32), "value"),
    Arg::flag("wait", "wait"),
    Arg::option("index", Value::Choice(&["intx", "msi"]), "kind").requires(&["wait"]),
]);
const IRQ: Command = Command::group("irq", "interrupts", &[RAISE]);
const BIND: Command = Command::new("bind", "bind", Run::Op).args(&[
    Arg::positional("DRIVER", Value::Choice(&["vfio-pci", "uio_pci_generic"]), "driver").unless(&["restore"]),
    Arg::flag("restore", "back").conflicts(&["DRIVER"]),
]);
const GLOBALS: &[Arg] = &[
    Arg::option("device", Value::Text, "dev"),
    Arg::flag("json", "json"),
    Arg::count("verbose", "more").short('v'),
    Arg::option("slot", Value::Text, "slot").short('s'),
];
static TOP: [&Command; 6] = [&FACTORIAL, &READ, &ECHO, &DUMP, &IRQ, &BIND];

fn cli(line: &str) -> Result<Invocation> {
    let words: Vec<&str> = line.split_whitespace().collect();
    parse(&Grammar { commands: &TOP, globals: GLOBALS, scope: Scope::Session }, &words)
}

fn script(line: &str) -> Result<Invocation> {
    let words: Vec<&str> = line.split_whitespace().collect();
    parse(&Grammar { commands: &TOP, globals: &[], scope: Scope::Line }, &words)
}

fn message(r: Result<Invocation>) -> String {
    match r {
        Ok(i) => panic!("parsed: {:?}", i.path_text()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn parses_like_a_command_line() {
    let a = FACTORIAL.parse_args(&["10", "--irq", "--timeout=100"]).unwrap();
    assert_eq!(a.int("N").unwrap(), 10);
    assert!(a.flag("irq"));
    assert_eq!(a.millis("timeout").unwrap(), Duration::from_millis(100));
    let a = FACTORIAL.parse_args(&["0x10"]).unwrap();
    assert_eq!((a.int("N").unwrap(), a.flag("irq"), a.int("timeout").unwrap()), (16, false, 5000));
    assert!(!a.given("timeout") && a.given("N"));
    assert!(FACTORIAL.parse_args(&[]).unwrap_err().to_string().contains("factorial needs N"));
    assert!(FACTORIAL.parse_args(&["0x100000000"]).unwrap_err().to_string().contains("does not fit"));
    assert!(FACTORIAL.parse_args(&["1", "2"]).unwrap_err().to_string().contains("unexpected argument '2'"));
    assert!(FACTORIAL.parse_args(&["1", "--nope"]).is_err());
}

#[test]
fn globals_anywhere_and_short_clusters() {
    let i = cli("--device 00:04.0 read ID -qvv --json").unwrap();
    assert_eq!(i.path_text(), "read");
    assert_eq!(i.args.opt_text("device"), Some("00:04.0"));
    assert!(i.args.flag("quiet") && i.args.flag("json"));
    assert_eq!(i.args.count("verbose"), 2);
    let i = cli("read -s04.0 0x0 --width=64").unwrap();
    assert_eq!(i.args.opt_text("slot"), Some("04.0"));
    assert_eq!(i.args.opt_width("width"), Some(crate::mmio::Width::W64));
    assert!(message(cli("read 0x0 --width 12")).contains("[possible values: 8, 16, 32, 64]"));
    assert!(message(cli("read 0x0 --width")).contains("a value is required for '--width <BITS>'"));
    assert!(message(cli("read 0x0 --width 8 --width 8")).contains("cannot be used multiple times"));
    assert!(message(cli("read 0x0 --quiet=1")).contains("unexpected value '1'"));
    assert!(message(cli("read 0x0 --wdith 8")).contains("a similar argument exists: '--width'"));
}

#[test]
fn commands_groups_and_suggestions() {
    assert!(message(cli("raed ID")).contains("unrecognized subcommand 'raed'; a similar subcommand exists: 'read'"));
    assert!(message(cli("irq")).contains("irq needs a subcommand: raise"));
    assert!(message(cli("")).contains("a command is required"));
    let i = cli("irq raise 1 --wait --index msi").unwrap();
    assert_eq!(i.path_text(), "irq raise");
    assert!(message(cli("irq raise 1 --index msi")).contains("--index <CHOICE> only goes with --wait"));
    assert_eq!(cli("dump ID STATUS").unwrap().args.list("REGISTER"), ["ID", "STATUS"]);
    assert!(cli("dump-regs").unwrap().args.list("REGISTER").is_empty());
}

#[test]
fn values_and_positionals() {
    assert!(message(cli("factorial -5")).contains("invalid value '-5'"));
    assert!(message(cli("factorial abc")).contains("invalid value 'abc'"));
    let i = cli("echo --not an option -x").unwrap();
    assert_eq!(i.args.list("TEXT"), ["--not", "an", "option", "-x"]);
    let i = cli("read -- -1").unwrap();
    assert_eq!(i.args.opt_text("TARGET"), Some("-1"));
    assert!(cli("bind --restore").is_ok());
    assert!(message(cli("bind")).contains("bind needs DRIVER"));
    assert!(message(cli("bind vfio-pci --restore")).contains("cannot be used together"));
    assert!(message(cli("bind e1000")).contains("possible values: vfio-pci, uio_pci_generic"));
}

#[test]
fn help_and_scope() {
    let i = cli("read --help").unwrap();
    assert!(i.help && i.path_text() == "read");
    let i = cli("help irq raise").unwrap();
    assert!(i.help && i.path_text() == "irq raise");
    assert!(cli("read ID --regmap m.toml").is_ok());
    assert!(message(script("read ID --regmap m.toml")).contains("applies to a whole session"));
    assert!(message(script("read ID --json")).contains("unexpected argument '--json'"));
}

#[test]
fn suggestions_are_close_ones_only() {
    assert_eq!(suggest("wirte", &["write", "read"]), Some("write"));
    assert_eq!(suggest("lst", &["list", "info"]), Some("list"));
    assert_eq!(suggest("frobnicate", &["list", "info"]), None);
}
