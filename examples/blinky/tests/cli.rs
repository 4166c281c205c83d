//! blinky's own binary is the whole mmiodrv command line with the blinky
//! driver in it: its commands in help, on the command line, in batch
//! scripts and the pipe protocol, in JSON and its schema, in completions,
//! and in `list`'s MMIODRV column, on a simulated blinky and a fake sysfs.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn blinky(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blinky")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_lists_the_drivers_commands() {
    let top = text(&blinky(&["--help"]));
    assert!(top.contains("Usage: blinky"), "{top}");
    assert!(top.contains("blinky, a made-up LED controller"), "{top}");
    let group = text(&blinky(&["blinky", "--help"]));
    for c in ["status", "mode", "ack"] {
        assert!(group.contains(c), "{c} in {group}");
    }
    assert!(text(&blinky(&["completions", "bash"])).contains("complete -F _blinky_registers"));
}

#[test]
fn names_commands_and_json_on_a_simulated_blinky() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let sim = ["--device", "sim:blinky", "--state", state.to_str().unwrap()];
    let run = |args: &[&str]| text(&blinky(&[&sim[..], args].concat()));
    assert!(run(&["write", "CTRL.MODE", "fast"]).contains("CTRL.MODE <- 0x3"));
    assert!(run(&["read", "CTRL"]).contains("MODE=0x3 (Fast)"));
    assert!(run(&["blinky", "ack"]).contains("acknowledged 0x0"));
    let json = run(&["--json", "blinky", "status"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        (v["op"].as_str(), v["mode"].as_str(), v["ready"].as_bool()),
        (Some("blinky status"), Some("Fast"), Some(true))
    );
    let schema = run(&["json-schema"]);
    assert!(schema.contains("op.blinky.status"), "the schema knows blinky's results");
    let e = blinky(&[&sim[..], &["write", "CTRL.MODE", "ludicrous"]].concat());
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("names: Off, Slow, Medium, Fast"));
}

#[test]
fn a_batch_script_and_the_pipe_protocol_take_its_commands() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("blink.mmio");
    std::fs::write(&script, "blinky mode slow\nexpect CTRL.MODE slow\nblinky status\n").unwrap();
    let out = text(&blinky(&["--device", "sim:blinky", "batch", script.to_str().unwrap()]));
    assert!(out.contains("blinking Slow") && out.contains("on, Slow, 0 blinks, ready"), "{out}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_blinky"))
        .args(["--device", "sim:blinky", "--json", "batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"blinky mode medium\nread CTRL.MODE\n").unwrap();
    drop(child.stdin.take());
    let out = text(&child.wait_with_output().unwrap());
    assert!(out.contains(r#""op":"blinky mode""#) && out.contains(r#""value":2"#), "{out}");
}

#[test]
fn list_names_the_driver_of_a_blinky_in_a_fake_sysfs() {
    // The layout docs/testing.md describes, for one device in domain ffff.
    let root = tempfile::tempdir().unwrap();
    let dev = root.path().join("bus/pci/devices/ffff:00:05.0");
    std::fs::create_dir_all(&dev).unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(dev.join(name), text).unwrap();
    write("vendor", b"0x1234\n");
    write("device", b"0xb1b1\n");
    write("class", b"0x088000\n");
    let mut config = vec![0u8; 256];
    config[0..4].copy_from_slice(&[0x34, 0x12, 0xb1, 0xb1]);
    config[9..12].copy_from_slice(&[0x00, 0x80, 0x08]);
    write("config", &config);
    let bar0 = "0x00000000fe000000 0x00000000fe000fff 0x0000000000040200\n";
    write(
        "resource",
        format!("{bar0}{}", "0x0000000000000000 0x0000000000000000 0x0000000000000000\n".repeat(12)).as_bytes(),
    );
    std::fs::File::create(dev.join("resource0")).unwrap().set_len(0x1000).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_blinky"))
        .args(["list", "-nn"])
        .env("MMIODRV_SYSFS_ROOT", root.path())
        .env("MMIODRV_FAKE_SYSFS_ONLY", "1")
        .output()
        .unwrap();
    let out = text(&out);
    let line = out.lines().find(|l| l.starts_with("ffff:00:05.0")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("[1234:b1b1]") && line.trim_end().ends_with("blinky"), "{line}");
    assert!(Path::new(&dev).exists());
}
