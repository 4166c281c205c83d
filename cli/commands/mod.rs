//! The program's own commands, one module per family, declared in the
//! library's one grammar. A new command is its module's function and one
//! entry in [`PROGRAM`] (and, when it prints JSON, the type of its objects
//! in [`results`]). (The register operations are the library's,
//! `mmiodrv::session::COMMANDS`; drivers declare theirs in `drivers/`.)

pub mod bind;
pub mod config;
pub mod doctor;
pub mod ecosystem;
pub mod info;
pub mod list;
pub mod observe;
pub mod regmap;
pub mod setpci;
pub mod udev;

use mmiodrv::command::{Arg, Command, Needs, Run, Value};
use mmiodrv::observe::watch::Change;
use mmiodrv::outcome::{Dump, Hexdump, ScriptChecked};
use mmiodrv::pci::{binding, report::DeviceReport};
use mmiodrv::schema::Results;
use mmiodrv::session::MAP_ARGS;
use mmiodrv::window::AccessReport;

const BAR: Arg =
    Arg::option("bar", Value::Bar, "BAR to access (default: the map's BAR, else 0); a --regmap map applies to it");
const MAP_FILE: Arg = Arg::option("regmap", Value::Path, "Read it with this register map file").value_name("MAP");

/// A program command: runs itself, opening what it needs.
const fn program(name: &'static str, about: &'static str, run: mmiodrv::command::RunFn) -> Command {
    Command::new(name, about, Run::Call(run)).needs(Needs::Nothing)
}

/// A program command on every selected device, as lspci and setpci select
/// them (all without -s/-d; a dump's with -F).
const fn on_selection(name: &'static str, about: &'static str, run: mmiodrv::command::RunFn) -> Command {
    Command::new(name, about, Run::Call(run)).needs(Needs::Selection)
}

/// `-n`, `-nn`.
const NUMERIC: Arg = Arg::count("numeric", "Numbers instead of names (-n), or both (-nn), as lspci").short('n');

const LIST: Command = on_selection(
    "list",
    "List PCI devices (all, or those -s/-d select; a dump's with -F) with names, driver, IOMMU group and mmiodrv driver",
    list::run,
)
.args(&[
    NUMERIC,
    Arg::flag("tree", "The bus tree exactly as lspci -t draws it (-v: with names, -n/-nn: with numbers)").short('t'),
])
.examples(&[
    ("mmiodrv list", "every device, with vendor and device names"),
    ("mmiodrv -d 1af4: list -nn", "Red Hat/virtio devices, names and [vendor:device] numbers"),
    ("mmiodrv list -tv", "the bus tree with names, as lspci -tv"),
    ("mmiodrv -F dump.txt list", "the devices of an lspci -xxx dump from another machine"),
]);

const INFO: Command = on_selection(
    "info",
    "Every selected device as lspci -vvv prints it (-v, -vv for less; -k, -n/-nn, -x..-xxxx, -D as lspci)",
    info::run,
)
.args(&[
    NUMERIC,
    Arg::flag("kernel", "The kernel driver and modules (-k; shown anyway with -v and more)").short('k'),
    Arg::count("hex", "A hex dump of config space: -x 64 bytes, -xxx 256, -xxxx 4096, as lspci").short('x'),
    Arg::flag("domains", "Always print the PCI domain (-D, as lspci)").short('D'),
])
.examples(&[
    ("mmiodrv -s 00:04.0 info", "one device, as lspci -vvv -s 00:04.0"),
    ("mmiodrv info", "every device, as lspci -vvv"),
    ("mmiodrv -d 1af4: info -v -nn", "virtio devices, as lspci -v -nn -d 1af4:"),
    ("mmiodrv -F dump.txt info", "a bug report's lspci -xxx dump decoded, as lspci -F dump.txt -vvv"),
    ("mmiodrv -s 00:0a.0 info --json", "lspci's lines, every capability's values and every config register by name"),
]);

const CONFIG_READ: Command = on_selection(
    "read",
    "Read a config register or field by name, or as setpci addresses it, on every selected device",
    config::read,
)
.args(&[
    Arg::positional(
        "TARGET",
        Value::Text,
        "REG or REG.FIELD of the config register map (COMMAND.BUS_MASTER, EXP.LNKSTA.CLS, PM.PMCSR.PS, AER.UESTA), or setpci's NAME[+OFF][.B|.W|.L][@N] (3c.b, CAP_MSI+2.w, ECAP_AER+4.l, CAP_VNDR+3.b@1: @N counts from 0; all hex)",
    ),
    Arg::flag("quiet", "Print only the value").short('q'),
])
.examples(&[
    ("mmiodrv -s 00:04.0 config read COMMAND.BUS_MASTER", "one field of COMMAND"),
    ("mmiodrv config read EXP.LNKSTA", "the link status of every PCI Express device, fields decoded"),
    ("mmiodrv -F dump.txt -s 02:00.0 config read CAP_EXP+12.w", "a register of a dump, as setpci addresses it"),
]);

const CONFIG_WRITE: Command = on_selection(
    "write",
    "Write a config register or field of one device (a field or VALUE:MASK writes only those bits)",
    config::write,
)
.args(&[
    Arg::positional("TARGET", Value::Text, "As for `config read`: EXP.DEVCTL.MPS, COMMAND, CAP_MSI+2.w"),
    Arg::positional(
        "VALUE",
        Value::Checked(config::check_value_mask, "VALUE[:MASK]"),
        "VALUE or VALUE:MASK (0x.., 0b.., decimal); range-checked against the register or field",
    ),
    Arg::flag("dry-run", "Show what would be written (old and new value) and write nothing"),
    Arg::flag("quiet", "Print only the new value").short('q'),
])
.examples(&[
    (
        "mmiodrv -s 00:04.0 config write CAP_MSI+2.w 0x1:0x1 --dry-run",
        "what setpci -s 00:04.0 CAP_MSI+2.w=1:1 would write",
    ),
    ("mmiodrv -s 02:00.0 config write EXP.DEVCTL.MPS 1", "MaxPayload 256 bytes: a read-modify-write of DEVCTL"),
]);

const CONFIG: Command = Command {
    subcommands: &[CONFIG_READ, CONFIG_WRITE],
    ..on_selection(
        "config",
        "Print raw config space of every selected device as `lspci -xxxx`, or read/write a register by name",
        config::dump,
    )
    .examples(&[
        ("mmiodrv -s 00:04.0 config", "hex dump, 256 or 4096 bytes (lspci -F and mmiodrv -F read it)"),
        ("mmiodrv config > machine.txt", "every device: a dump to decode elsewhere with mmiodrv -F machine.txt info"),
    ])
};

const SETPCI: Command = on_selection(
    "setpci",
    "setpci exactly: its options and operations (NAME[+OFF][.W][@N][=VALUE[:MASK],...], hex), its output and exit statuses",
    setpci::run,
)
.args(&[
    Arg::count("show-accesses", "Show each access (setpci -v)").short('v'),
    Arg::flag("no-warning", "Do not warn when an operation group selects no device (setpci -f)").short('f'),
    Arg::flag("demo", "Demo mode: write nothing, show what would be written with -v (setpci -D)").short('D'),
    Arg::flag("raw", "Accepted as setpci's -r (no bus scan); devices are found in sysfs either way").short('r'),
    Arg::flag("dumpregs", "Print every register and capability name setpci knows, and exit"),
    Arg::positional(
        "OPERATION",
        Value::Text,
        "Device selections (-s SLOT, -d VENDOR:DEVICE) each followed by operations: NAME[+OFFSET][.B|.W|.L][@N] reads, NAME...=VALUE[:MASK][,VALUE...] writes; all numbers hex, @N from 0",
    )
    .trailing()
    .optional(),
])
.examples(&[
    ("mmiodrv setpci -s 00:04.0 COMMAND", "read COMMAND: 0107"),
    ("mmiodrv setpci -s 00:04.0 LATENCY_TIMER=40 CAP_MSI+2.w", "a write (hex 0x40) and a read"),
    ("mmiodrv setpci -vD -s 00:04.0 COMMAND=2:2", "what would be written, writing nothing"),
    ("mmiodrv setpci --dumpregs", "every name setpci knows"),
]);

const DOCTOR: Command = program(
    "doctor",
    "Check what access to PCI devices needs (root or group, lockdown, IOMMU, VFIO nodes, memlock, modules) and name each fix",
    doctor::run,
)
.examples(&[
    ("mmiodrv doctor", "the system: user, lockdown, iomem, IOMMU, /dev/vfio, memlock, modules (exit 10 on a problem)"),
    ("mmiodrv -s 00:04.0 doctor", "also the device: IOMMU group, decoding, bus mastering, driver"),
]);

const UDEV: Command = program(
    "udev",
    "Show what the udev device list grants group mmiodrv: each named device's node, owner, mode and state, stray grants",
    udev::run,
)
.examples(&[
    ("mmiodrv udev", "named devices, their nodes and states; entries that match nothing; stray grants (exit 10)"),
    ("mmiodrv udev --json", "the same as one JSON object"),
]);

const BIND: Command =
    program("bind", "Bind the device to vfio-pci or uio_pci_generic, or --restore its old driver", bind::bind)
        .args(&[
            Arg::positional("DRIVER", Value::Choice(&["vfio-pci", "uio_pci_generic"]), "vfio-pci or uio_pci_generic")
                .unless(&["restore"]),
            Arg::flag("restore", "Go back to the driver the device had before mmiodrv bound it").conflicts(&["DRIVER"]),
        ])
        .examples(&[
            ("mmiodrv -s 00:04.0 bind vfio-pci", "for interrupts and DMA"),
            ("mmiodrv -s 00:04.0 bind --restore", "back to the driver it had before"),
        ]);

const UNBIND: Command = program("unbind", "Detach the device from its kernel driver", bind::unbind)
    .examples(&[("mmiodrv -s 00:07.0 unbind", "refused while the device is in use (mounted, swap, link up)")]);

const WATCH: Command = program("watch", "Print each change of registers or fields, with its time", observe::watch)
    .args(&[
        Arg::positional(
            "TARGET",
            Value::Text,
            "What to watch: REG, REG.FIELD or offsets (default: every register dump-regs reads; registers whose read has side effects only when named)",
        )
        .many()
        .optional(),
        Arg::option("interval", Value::Millis, "Time between samples in milliseconds").default("100"),
        Arg::option("count", Value::Bits(64), "Stop after this many changes"),
        Arg::option("until", Value::Text, "Stop when TARGET reads VALUE (checked at every sample, the first too); TARGET is watched as well")
            .value_name("TARGET=VALUE"),
        Arg::option("timeout", Value::Millis, "Stop after this many milliseconds: exit status 8 when --count or --until was not met by then"),
        BAR,
        MAP_ARGS[0],
        MAP_ARGS[1],
        MAP_ARGS[2],
    ])
    .examples(&[
        ("mmiodrv -s 00:04.0 watch", "each change of any register read without side effects"),
        ("mmiodrv -s 00:04.0 watch STATUS.COMPUTING --until STATUS.COMPUTING=0 --timeout 2000", "until a field clears"),
    ]);

const TOP: Command = program("top", "Sample fields: how often each is set, each value's share, the rate achieved", observe::top)
    .args(&[
        Arg::positional(
            "TARGET",
            Value::Text,
            "What to sample: REG.FIELD, REG (each of its fields) or offsets (default: every field of every register dump-regs reads)",
        )
        .many()
        .optional(),
        Arg::option("rate", Value::Float, "Samples per second to aim for (the rate achieved is shown)").default("1000").value_name("HZ"),
        Arg::option("count", Value::Bits(64), "Stop after this many samples (default: until interrupted)").value_name("SAMPLES"),
        Arg::option("refresh", Value::Millis, "Show the shares every MS milliseconds (default: 500 on a terminal, 1000 otherwise)"),
        BAR,
        MAP_ARGS[0],
        MAP_ARGS[1],
        MAP_ARGS[2],
    ])
    .examples(&[("mmiodrv -s 00:04.0 top STATUS.COMPUTING --rate 2000", "how often the field is set, refreshed in place")]);

const SNAPSHOT: Command = program(
    "snapshot",
    "Write every readable register (or a BAR's raw bytes) with device, map and time to a JSON file",
    observe::snapshot,
)
.args(&[
    Arg::option("out", Value::Path, "The snapshot file to write (JSON)").required(),
    Arg::flag("raw", "Capture the BAR's raw bytes (32-bit reads) instead of its registers"),
    Arg::option("offset", Value::Size, "With --raw: first byte (default 0)").requires(&["raw"]),
    Arg::option("len", Value::Size, "With --raw: length in bytes (default: to the end of the BAR)").requires(&["raw"]),
    Arg::flag("all", "Also read write-only registers and registers whose read has side effects"),
    BAR,
    MAP_ARGS[0],
    MAP_ARGS[1],
    MAP_ARGS[2],
])
.examples(&[
    ("mmiodrv -s 00:04.0 snapshot --out before.json", "every readable register, with the device and the time"),
    ("mmiodrv -s 00:05.0 snapshot --raw --bar 2 --len 4096 --out shm.json", "raw bytes of a BAR"),
]);

const DECODE: Command = program("decode", "Print a snapshot as dump-regs would, without the device", observe::decode)
    .args(&[
        Arg::positional("FILE", Value::Path, "A snapshot file"),
        Arg::option("regmap", Value::Path, "Read it with this register map instead of the one it was taken with (a raw snapshot is then shown as registers)").value_name("MAP"),
    ])
    .examples(&[("mmiodrv decode before.json", "as dump-regs printed it, with no device")]);

const DIFF: Command = program(
    "diff",
    "Name each register and field that differs between two snapshots, or a snapshot and the device",
    observe::diff,
)
.args(&[
    Arg::positional("A", Value::Path, "The first snapshot"),
    Arg::positional("B", Value::Path, "The second snapshot (default: the live --device, read as A was taken)")
        .optional(),
    Arg::option("regmap", Value::Path, "Compare both as this map's registers").value_name("MAP"),
])
.examples(&[
    ("mmiodrv diff before.json after.json", "each register and field that changed (exit 10 when any did)"),
    ("mmiodrv -s 00:04.0 diff before.json", "against the live device"),
]);

/// A trace names the map files its windows used; they are someone's paths,
/// loaded only when asked (and never compiled: SystemRDL is refused).
const RECORDED_MAP: Arg = Arg::flag(
    "recorded-map",
    "Also load the map files the trace names for register names (read as data: never SystemRDL); without it, built-in maps only",
);

const TRACE_SHOW: Command =
    program("show", "Print a trace with register and field names from the map", observe::trace_show)
        .args(&[
            Arg::positional("FILE", Value::Path, "A trace file (written with --trace FILE)"),
            MAP_FILE,
            Arg::option("bar", Value::Bar, "The BAR --regmap describes (default: the map's own)").requires(&["regmap"]),
            RECORDED_MAP,
        ])
        .examples(&[
            ("mmiodrv -s 00:04.0 --trace run.jsonl edu factorial 10", "record every access of a command"),
            ("mmiodrv trace show run.jsonl", "the accesses with register and field names"),
        ]);

const TRACE: Command = Command::group("trace", "Read a trace recorded with --trace FILE", &[TRACE_SHOW]);

const REPLAY: Command = program(
    "replay",
    "Issue a trace's writes again in order (--verify: check its reads); same device IDs only",
    observe::replay,
)
.args(&[
    Arg::positional("FILE", Value::Path, "A trace file (written with --trace FILE)"),
    Arg::flag("dry-run", "Print what would be done; touch nothing (with --device, still check its IDs)"),
    Arg::flag("verify", "Also make the trace's reads again and check each returns what was recorded"),
    RECORDED_MAP,
    Arg::option(
        "timeout",
        Value::Millis,
        "With --verify: how long a read may take to reach its recorded value, in milliseconds",
    )
    .default("5000"),
])
.examples(&[("mmiodrv -s 00:04.0 replay run.jsonl --verify", "its writes again, checking its reads")]);

const BATCH: Command = program("batch", "Run many operations on the device in one process: a script FILE, - for the pipe protocol", crate::script::batch)
    .args(&[
        Arg::positional(
            "FILE",
            Value::Path,
            "Script file, or - for standard input (line by line: the pipe protocol). Without it, standard input: a shell on a terminal, the protocol on a pipe",
        )
        .optional(),
        Arg::flag("check", "Only parse and check the script; touch nothing"),
        Arg::flag("keep-going", "Run every line even after one fails (the exit status is the first failure's)"),
        MAP_ARGS[0],
        MAP_ARGS[1],
        MAP_ARGS[2],
    ])
    .examples(&[
        ("mmiodrv -s 00:04.0 batch script.mmio", "run a script; nothing runs if a line is wrong"),
        ("mmiodrv -s 00:04.0 batch --check script.mmio", "only check it"),
        ("mmiodrv -s 00:04.0 --json batch -", "the pipe protocol: one JSON object per line"),
    ]);

const SHELL: Command =
    program("shell", "An interactive shell on the device (line editing, history, completion)", crate::script::shell)
        .args(&[MAP_ARGS[0], MAP_ARGS[1], MAP_ARGS[2]])
        .examples(&[("mmiodrv -s 00:04.0 shell", "read, write, poll, dump... with tab completion; help CMD")]);

const REGMAP_SHOW: Command =
    program("show", "Every register of a map file: absolute offset, width, access, reset, fields", regmap::show)
        .args(&[
            Arg::positional(
                "FILE",
                Value::Path,
                "A map in any format: mmiodrv TOML, IP-XACT, CMSIS-SVD, SystemRDL, LiteX csr.csv/csr.json",
            ),
            Arg::option("block", Value::Text, "Only this block").value_name("NAME"),
        ])
        .examples(&[("mmiodrv regmap show edu.svd", "every register with address, width, access, reset, fields")]);

const REGMAP_CHECK: Command =
    program("check", "Check a map file: problems as FILE:LINE: problem, exit status 7", regmap::check)
        .args(&[Arg::positional("FILE", Value::Path, "The map file")])
        .examples(&[("mmiodrv regmap check my.toml", "problems as FILE:LINE, exit status 7")]);

const REGMAP_CONVERT: Command = program(
    "convert",
    "Convert a map file (every block, or --block) to TOML, CMSIS-SVD, IP-XACT, SystemRDL or JSON; what the format cannot express is said",
    regmap::convert,
)
.args(&[
    Arg::positional("FILE", Value::Path, "The map file"),
    Arg::option("to", Value::Choice(&["toml", "svd", "ipxact", "systemrdl", "json"]), "Target format")
        .required()
        .value_name("FORMAT"),
    Arg::option("block", Value::Text, "Only this block (at its base)").value_name("NAME"),
    Arg::option("output", Value::Path, "Write here instead of stdout").short('o'),
])
.examples(&[
    ("mmiodrv regmap convert soc.xml --to toml -o soc.toml", "every block as TOML ([[block]]s)"),
    ("mmiodrv regmap convert soc.xml --block UART --to systemrdl", "one block as SystemRDL"),
]);

const REGMAP_GENERATE: Command = program(
    "generate",
    "Generate code from a map: Rust (register_map!), Python (typed classes and stubs) or a C header",
    regmap::generate,
)
.args(&[
    Arg::positional("FILE", Value::Path, "The map file (FILE@OFFSET places it in the BAR)"),
    Arg::option("lang", Value::Choice(&["rust", "python", "c"]), "The language").required().value_name("LANG"),
    Arg::option("block", Value::Text, "Only this block (at its base)").value_name("NAME"),
    Arg::option("output", Value::Path, "Write here (Python: FILE.py and FILE.pyi) instead of stdout").short('o'),
    Arg::option("module", Value::Text, "Rust: the module's name (default regs)").value_name("NAME"),
    Arg::option("crate-path", Value::Text, "Rust: the path of the mmiodrv crate (default mmiodrv; crate inside it)")
        .value_name("PATH"),
])
.examples(&[
    ("mmiodrv regmap generate dma.rdl --lang rust -o src/regs.rs", "a driver's typed registers"),
    ("mmiodrv regmap generate edu.svd --lang python -o edu_regs.py", "edu_regs.py and edu_regs.pyi"),
    ("mmiodrv regmap generate soc.rdl --lang c -o soc_regs.h", "offsets, masks and shifts"),
]);

const REGMAP: Command = Command::group(
    "regmap",
    "Show, check, convert a register map (TOML, IP-XACT, SVD, SystemRDL, LiteX) or generate code from it",
    &[REGMAP_SHOW, REGMAP_CHECK, REGMAP_CONVERT, REGMAP_GENERATE],
);

const COMPLETIONS: Command = program(
    "completions",
    "Print a shell completion script (bash also completes register names of the device)",
    ecosystem::completions,
)
.args(&[Arg::positional("SHELL", Value::Choice(&["bash", "zsh", "fish"]), "The shell")])
.examples(&[
    ("mmiodrv completions bash > /etc/bash_completion.d/mmiodrv", "install for bash"),
    ("mmiodrv completions zsh > ~/.zfunc/_mmiodrv", "zsh (with ~/.zfunc in fpath)"),
    ("mmiodrv completions fish > ~/.config/fish/completions/mmiodrv.fish", "fish"),
]);

const MAN: Command = program("man", "Write man pages: mmiodrv.1 and one per command", ecosystem::man)
    .args(&[Arg::option("dir", Value::Path, "Write the pages (mmiodrv.1, mmiodrv-list.1, ...) into this directory")
        .required()
        .value_name("DIR")])
    .examples(&[("sudo mmiodrv man --dir /usr/local/share/man/man1", "install them (then: man mmiodrv-read)")]);

const JSON_SCHEMA: Command = program(
    "json-schema",
    "Print the JSON Schema (2020-12) of every object --json prints, generated from their types",
    ecosystem::json_schema,
)
.examples(&[
    ("mmiodrv json-schema > docs/json-schema.json", "what docs/json-schema.json holds"),
    (r#"mmiodrv json-schema | jq '."$defs"["op.read"]'"#, "the branch of read's objects ($defs/op.PATH for each op)"),
]);

const COMPLETE_REGISTERS: Command = program(
    "complete-registers",
    "Register and field names of the device's map, one per line (for shell completion)",
    ecosystem::complete_registers,
)
.args(&[BAR, MAP_ARGS[0], MAP_ARGS[1]])
.hidden();

/// The program's commands, in the order help lists them.
pub static PROGRAM: [Command; 22] = [
    LIST,
    INFO,
    CONFIG,
    SETPCI,
    DOCTOR,
    UDEV,
    BIND,
    UNBIND,
    WATCH,
    TOP,
    SNAPSHOT,
    DECODE,
    DIFF,
    TRACE,
    REPLAY,
    BATCH,
    SHELL,
    REGMAP,
    COMPLETIONS,
    MAN,
    JSON_SCHEMA,
    COMPLETE_REGISTERS,
];

/// The JSON type of each program command's objects (`--json`), declared
/// with the command: the schema's branches for them (`mmiodrv json-schema`).
/// Commands that print no JSON object: `completions`, `shell` (its lines'
/// objects are the operations'), `json-schema` (the schema itself) and
/// `complete-registers`.
pub fn results(r: &mut Results) {
    r.add::<list::Listing>(&[&LIST])
        .add::<DeviceReport>(&[&INFO])
        .add::<config::ConfigBytes>(&[&CONFIG])
        .add::<AccessReport>(&[&CONFIG, &CONFIG_READ])
        .add::<config::ConfigWrite>(&[&CONFIG, &CONFIG_WRITE])
        .add::<setpci::SetpciAccess>(&[&SETPCI])
        .add::<doctor::Doctor>(&[&DOCTOR])
        .add::<udev::UdevReport>(&[&UDEV])
        .add::<binding::Outcome>(&[&BIND])
        .add::<binding::Outcome>(&[&UNBIND])
        .add::<Change>(&[&WATCH])
        .add::<observe::TopShares>(&[&TOP])
        .add::<observe::Taken>(&[&SNAPSHOT])
        .add::<Dump>(&[&DECODE])
        .add::<Hexdump>(&[&DECODE])
        .add::<observe::Differences>(&[&DIFF])
        .add::<observe::TraceLine>(&[&TRACE, &TRACE_SHOW])
        .add::<observe::ReplayStep>(&[&REPLAY])
        .add::<observe::Replayed>(&[&REPLAY])
        .add::<ScriptChecked>(&[&BATCH])
        .add::<regmap::Shown>(&[&REGMAP, &REGMAP_SHOW])
        .add::<regmap::Checked>(&[&REGMAP, &REGMAP_CHECK])
        .add::<regmap::ConvertedTo>(&[&REGMAP, &REGMAP_CONVERT])
        .add::<regmap::Converted>(&[&REGMAP, &REGMAP_CONVERT])
        .add::<regmap::GeneratedCode>(&[&REGMAP, &REGMAP_GENERATE])
        .add::<ecosystem::ManPages>(&[&MAN]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command that prints JSON declares its objects' type, under its
    /// own path; the others are the four named in `results`' doc.
    #[test]
    fn every_command_that_prints_json_declares_its_type() {
        fn leaves(prefix: &str, c: &Command, out: &mut Vec<String>) {
            let path = if prefix.is_empty() { c.name.to_string() } else { format!("{prefix} {}", c.name) };
            if !matches!(c.run, Run::Group) {
                out.push(path.clone());
            }
            for s in c.subcommands {
                leaves(&path, s, out);
            }
        }
        let no_json = [&COMPLETIONS, &SHELL, &JSON_SCHEMA, &COMPLETE_REGISTERS].map(|c| c.name);
        let mut want = Vec::new();
        for c in PROGRAM.iter().filter(|c| !no_json.contains(&c.name)) {
            leaves("", c, &mut want);
        }
        let mut r = Results::new();
        results(&mut r);
        let mut declared: Vec<String> = r.ops().map(str::to_string).collect();
        want.sort();
        declared.sort();
        assert_eq!(declared, want);
    }
}
