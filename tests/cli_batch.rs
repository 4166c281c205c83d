//! `batch`, the pipe protocol and `shell` on a simulated device (`sim:`), no
//! hardware: the output is the one-shot commands' (text and JSON), a bad line
//! anywhere runs nothing, errors name FILE:LINE, `--keep-going`, a program
//! driving a session line by line (and the Python example doing it), and the
//! shell under a pseudo-terminal completing a register name. The same on the
//! real edu device, with interrupts and DMA, is in tests/vm/batch.rs.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn edu_sim() -> String {
    format!("sim:{}", repo().join("tests/data/edu/edu.svd").display())
}

fn mmiodrv() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mmiodrv"));
    c.env_remove("MMIODRV_DEVICE").env("MMIODRV_FAKE_SYSFS_ONLY", "1").env("MMIODRV_SYSFS_ROOT", "/nonexistent");
    c
}

/// mmiodrv --device DEV --state STATE ARGS...
fn run(state: &Path, args: &[&str]) -> Output {
    mmiodrv().args(["--device", &edu_sim(), "--state"]).arg(state).args(args).output().expect("run mmiodrv")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(state: &Path, args: &[&str]) -> String {
    let o = run(state, args);
    assert!(o.status.success(), "{args:?}: {}{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

fn script(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    p
}

const OPS: &[&str] = &[
    "read ID",
    "read ID.MAJOR --quiet",
    "read 0x0 --quiet",
    "write LIVENESS 0x12",
    "read LIVENESS",
    "write STATUS.IRQ_FACT 1",
    "read STATUS",
    "write 0x8 7 --verify",
    "read 0x8 --width 32",
    "read DMA_CMD",
    // The same lines again, after the values changed (a line seen before
    // prints from the report it made then, with the new value).
    "read ID",
    "read ID",
    "write LIVENESS 0x34",
    "read LIVENESS",
    "read ID.MAJOR",
    "write STATUS.IRQ_FACT 0",
    "read STATUS",
    "read STATUS",
    "read 0x8 --width 32",
];

/// Text and JSON alike: a batch prints what the same commands print one by
/// one (each one-shot run sees the state the ones before it left).
#[test]
fn a_batch_prints_what_the_one_shot_commands_print() {
    for json in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (one, many) = (dir.path().join("one.json"), dir.path().join("many.json"));
        let flag: &[&str] = if json { &["--json"] } else { &[] };
        let mut expected = String::new();
        for op in OPS {
            let words: Vec<&str> = flag.iter().copied().chain(op.split_whitespace()).collect();
            expected.push_str(&ok(&one, &words));
        }
        let s = script(dir.path(), "ops.txt", OPS);
        let got = ok(&many, &[flag, &["batch", s.to_str().unwrap()]].concat());
        assert_eq!(got, expected, "json={json}");
        if json {
            for line in got.lines() {
                serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
            assert_eq!(got.lines().count(), OPS.len());
        }
        // And the state each left is the same.
        assert_eq!(std::fs::read_to_string(&one).unwrap(), std::fs::read_to_string(&many).unwrap());
    }
}

/// A typo, an unknown register, a read-only register or a value too wide on
/// the last line: exit status of that error, FILE:LINE, nothing run.
#[test]
fn a_bad_line_anywhere_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let good = ["write LIVENESS 0x55", "write FACTORIAL 3", "write DMA_SRC 0x1000", "read ID"];
    for (bad, code, msg) in [
        ("wirte LIVENESS 1", 2, "unrecognized subcommand 'wirte'; a similar subcommand exists: 'write'"),
        ("read NOPE", 3, "no register 'NOPE'"),
        ("write ID 1", 2, "register ID is read-only"),
        ("write ID.MAJOR 0x100", 2, "0x100"),
        ("read 0x1", 2, "0x1"),
        ("echo 'unclosed", 2, "unclosed ' quote"),
        ("poll STATUS 0 --timeout", 2, "--timeout"),
    ] {
        let lines: Vec<&str> = good.iter().copied().chain([bad]).collect();
        let s = script(dir.path(), "bad.txt", &lines);
        let o = run(&state, &["batch", s.to_str().unwrap()]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{bad}: {err}");
        assert!(err.starts_with(&format!("mmiodrv: error: {}:5: ", s.display())) && err.contains(msg), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(o.stdout.is_empty(), "{bad}: printed {}", text(&o.stdout));
        assert!(!state.exists(), "{bad}: the state changed");
    }
    // --check: parsed and checked, nothing run.
    let s = script(dir.path(), "good.txt", &good);
    let out = ok(&state, &["batch", "--check", s.to_str().unwrap()]);
    assert_eq!(out, format!("{}: 4 operation(s) checked, nothing run\n", s.display()));
    assert!(!state.exists());
}

/// A failure at run time stops the run at its line (its exit status), or
/// with --keep-going runs the rest and exits with the first failure's status.
/// Lines repeated in the script (parsed once) still report their own line.
#[test]
fn failures_name_their_line_and_keep_going_runs_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "run.txt",
        &["expect LIVENESS 0", "write LIVENESS 1", "expect LIVENESS 0", "write FACTORIAL 5", "expect LIVENESS 0"],
    );
    let state = dir.path().join("a.json");
    let o = run(&state, &["batch", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(6));
    let err = text(&o.stderr);
    assert_eq!(err, format!("mmiodrv: error: {}:3: {}: LIVENESS reads 0x1, expected 0x0\n", s.display(), edu_sim()));
    assert_eq!(ok(&state, &["read", "FACTORIAL", "-q"]), "0x00000000\n", "line 4 ran");

    let state = dir.path().join("b.json");
    let o = run(&state, &["batch", "--keep-going", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(6));
    let err = text(&o.stderr);
    assert!(err.contains("run.txt:3: ") && err.contains("run.txt:5: ") && err.lines().count() == 2, "{err}");
    assert_eq!(ok(&state, &["read", "FACTORIAL", "-q"]), "0x00000005\n", "line 4 did not run");
}

/// Reads lines from a child's stdout on a thread, so a missing reply fails
/// the test instead of hanging it.
struct Replies(mpsc::Receiver<String>);

impl Replies {
    fn new(out: impl std::io::Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Replies(rx)
    }

    fn next(&self, after: &str) -> String {
        self.0.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("no reply to {after:?} within 10 s"))
    }
}

/// The pipe protocol: each reply arrives before the next line is sent; with
/// --json exactly one object per line, an error included; the session goes
/// on after an error with --keep-going, and its exit status is the error's.
#[test]
fn a_program_drives_a_session_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = mmiodrv()
        .args(["--device", &edu_sim(), "--json", "batch", "--keep-going", "-"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let replies = Replies::new(child.stdout.take().unwrap());
    let mut ask = |line: &str| -> serde_json::Value {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let reply = replies.next(line);
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{line}: {reply}: {e}"))
    };
    let id = ask("read ID");
    assert_eq!((id["op"].as_str(), id["value"].as_u64()), (Some("read"), Some(0x0100_00ed)), "{id}");
    assert_eq!(ask("write LIVENESS 0x1234")["value"], 0x1234);
    assert_eq!(ask("read LIVENESS")["value"], 0x1234, "the session keeps its state");
    let e = ask("write ID 1");
    assert_eq!((e["op"].as_str(), e["line"].as_u64(), e["exit"].as_i64()), (Some("error"), Some(4), Some(2)), "{e}");
    assert!(e["error"].as_str().unwrap().contains("register ID is read-only"), "{e}");
    assert_eq!(ask("sleep 1")["duration_ms"], 1);
    assert_eq!(ask("echo done")["text"], "done");
    assert_eq!(ask("read ID.MAGIC")["value"], 0xed, "still running after the error");
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "the first error's exit status");
}

/// examples/batch_pipe.py (standard library only) against the simulated edu.
#[test]
fn the_python_client_example_runs() {
    let o = Command::new("python3")
        .arg(repo().join("examples/batch_pipe.py"))
        .arg(edu_sim())
        .env("MMIODRV", env!("CARGO_BIN_EXE_mmiodrv"))
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .output()
        .expect("python3 (apt-get install python3)");
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let expected = format!(
        "ID 0x010000ed: edu 1.0\nLIVENESS <- 0x12345678, reads 0x12345678\nLIVENESS <- 0xcafe, reads 0x0000cafe\n\
         refused (exit 2): {}: register ID is read-only\nID.MAJOR 1\n",
        edu_sim()
    );
    assert_eq!(text(&o.stdout), expected);
}

/// The shell under a pseudo-terminal (Python's pty module drives it): TAB
/// TAB after `read ID.M` lists ID.MAGIC and ID.MAJOR, TAB after `AJ`
/// completes `ID.MAJOR`, the read runs, an error does not end
/// the shell, `quit` does, and the history file keeps the lines.
#[test]
fn the_shell_completes_register_names() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let driver = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
def until(text, timeout=10):
    global seen
    end = time.time() + timeout
    while text.encode() not in seen:
        left = end - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            sys.exit("timed out waiting for %r; got %r" % (text, seen.decode(errors="replace")))
        try:
            seen += os.read(fd, 4096)
        except OSError:
            sys.exit("shell ended; got %r" % seen.decode(errors="replace"))
until("> ")
os.write(fd, b"read ID.M\t\t")
until("ID.MAGIC")
until("ID.MAJOR")
os.write(fd, b"AJ\t")
until("read ID.MAJOR")
os.write(fd, b"\r")
until("ID.MAJOR = 0x1")
os.write(fd, b"read NOPE\r")
until("no register 'NOPE'")
os.write(fd, b"quit\r")
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let o = Command::new("python3")
        .args(["-c", driver, env!("CARGO_BIN_EXE_mmiodrv"), "--device", &edu_sim(), "shell"])
        .env("MMIODRV_HISTORY", &history)
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .env("MMIODRV_SYSFS_ROOT", "/nonexistent")
        .env("TERM", "xterm")
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let screen = text(&o.stdout);
    assert!(screen.contains(&format!("{} BAR0 0x0000 ID.MAJOR = 0x1", edu_sim())), "{screen}");
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(kept.contains("read ID.MAJOR") && kept.contains("read NOPE"), "{kept}");
}

/// `maps` lists what the run has mapped: nothing before the first access; a
/// simulated BAR is not memory. (Real mappings, sysfs, VFIO and DMA buffers,
/// are shown on the device in docs/labs/07-mappings.md, run by the VM tests.)
#[test]
fn maps_lists_what_the_run_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let s = script(dir.path(), "maps.txt", &["maps", "read LIVENESS -q", "maps"]);
    let out = ok(&state, &["batch", s.to_str().unwrap()]);
    let dev = edu_sim();
    assert_eq!(
        out,
        format!(
            "{dev}: nothing mapped yet (a BAR is mapped at its first read or write)\n0x00000000\n\
             {dev}: BAR0 through sim, 0x1000 bytes: not one memory mapping (several areas, pread/pwrite, or simulated)\n"
        )
    );
    let out = ok(&state, &["--json", "batch", s.to_str().unwrap()]);
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["maps"], serde_json::json!([]));
    assert_eq!(lines[2]["maps"][0]["what"], "BAR0");
    assert_eq!(lines[2]["maps"][0]["via"], "sim");
    assert!(lines[2]["maps"][0]["mapping"].is_null());
}

/// Repeated lines (recognised without being parsed again), CRLF endings,
/// repeated comments and blank lines, and a last line without a newline: the
/// same output and line numbers as lines written out one by one.
#[test]
fn repeated_lines_crlf_and_comments_keep_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let path = dir.path().join("mixed.txt");
    let body = "read ID -q\r\nread ID -q\r\n# c\n# c\n\nread 0x0 -q\nread 0x0 -q\nread ID.MAJOR -q\nread ID.MAJOR -q";
    std::fs::write(&path, body).unwrap();
    let out = ok(&state, &["batch", path.to_str().unwrap()]);
    assert_eq!(out, "0x010000ed\n0x010000ed\n0x010000ed\n0x010000ed\n0x1\n0x1\n");
    // The line after two repeats and a comment is still counted right.
    std::fs::write(&path, "read ID -q\nread ID -q\n# c\n# c\nread ID -q\nread NOPE -q\n").unwrap();
    let o = run(&state, &["batch", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&format!("{}:6:", path.display())), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "ran before the bad line: {}", text(&o.stdout));
    // Runs of every length (found by doubling while parsing), a last line
    // without its newline, then a bad line: each numbered right.
    for n in [1usize, 2, 3, 7, 8, 9, 1000, 1023, 1025] {
        let lines = "read ID -q\n".repeat(n) + "read ID -q";
        std::fs::write(&path, &lines).unwrap();
        assert_eq!(ok(&state, &["batch", path.to_str().unwrap()]), "0x010000ed\n".repeat(n + 1), "{n} lines");
        std::fs::write(&path, "read ID -q\n".repeat(n) + "read NOPE -q\n").unwrap();
        let o = run(&state, &["batch", path.to_str().unwrap()]);
        let want = format!("{}:{}:", path.display(), n + 1);
        assert!(text(&o.stderr).contains(&want), "{n}: {}", text(&o.stderr));
    }
}

/// SIGINT in the middle of a long run of one repeated quiet read (the batch's
/// fast loop): the run stops at a line, names it, and every line before it
/// printed its value: the line number is the count of values plus one.
#[test]
fn a_signal_in_a_run_of_repeated_reads_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let path = dir.path().join("long.txt");
    let lines = 1_200_000;
    std::fs::write(&path, "read ID -q\n".repeat(lines)).unwrap();
    let mut child = mmiodrv()
        .args(["--device", &edu_sim(), "--state"])
        .arg(&state)
        .arg("batch")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // The first block of output is out: the run is under way.
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "0x010000ed\n");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    let printed = 1 + rest.lines().count();
    assert!(rest.lines().all(|l| l == "0x010000ed"), "only values: {:?}", rest.lines().find(|l| *l != "0x010000ed"));
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    let want = format!("mmiodrv: error: {}:{}: {}: interrupted by SIGINT\n", path.display(), printed + 1, edu_sim());
    assert!(printed < lines, "the run finished before the signal");
    assert!(text(&o.stderr).ends_with(&want), "{printed} values printed; stderr: {}", text(&o.stderr));
}
