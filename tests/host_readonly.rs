//! `list` and `info` on this machine's own PCI devices, strictly read-only (config
//! space through sysfs; no BAR is opened, nothing is written or bound), compared
//! with sysfs and with lspci.
//!
//! A libtest-mimic harness (`harness = false`), so that what cannot be
//! compared here is reported as ignored, not as passed: a machine without PCI
//! devices in sysfs or without lspci skips (with one loud line; under CI=true
//! that is a failure), and a comparison that compared no device fails.

mod common;

use std::fs;
use std::process::{Command, ExitCode};

use libtest_mimic::{Arguments, Failed, Trial};

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// This machine's PCI functions in sysfs (empty when there is no PCI).
fn host_devices() -> Vec<String> {
    let Ok(entries) = fs::read_dir("/sys/bus/pci/devices") else { return Vec::new() };
    let mut out: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    out.sort();
    out
}

fn lspci_installed() -> bool {
    Command::new("lspci").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// A comparison: how many devices it compared.
type Compare = fn() -> Result<usize, Failed>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let tests: [(&str, Compare, Option<String>); 2] = [
        (
            "list_agrees_with_sysfs",
            list_agrees_with_sysfs,
            host_devices().is_empty().then(|| "this machine shows no PCI devices in /sys/bus/pci/devices".into()),
        ),
        (
            "info_agrees_with_lspci_on_host_devices",
            info_agrees_with_lspci_on_host_devices,
            if host_devices().is_empty() {
                Some("this machine shows no PCI devices in /sys/bus/pci/devices".into())
            } else if !lspci_installed() {
                Some("lspci is not installed (apt-get install pciutils)".into())
            } else {
                None
            },
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test, skip)| match skip {
            Some(why) if ci() => Trial::test(name, move || Err(Failed::from(format!("CI=true, but {why}")))),
            Some(why) => {
                if !args.list {
                    eprintln!("!!!!! SKIPPING host_readonly::{name} (reported as ignored): {why} !!!!!");
                }
                Trial::test(name, || Ok(())).with_ignored_flag(true)
            }
            None => Trial::test(name, move || match test()? {
                0 => Err(Failed::from("compared no device")),
                n => {
                    eprintln!("{name}: compared {n} devices");
                    Ok(())
                }
            }),
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

fn mmiodrv(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mmiodrv"))
        .args(args)
        .env_remove("MMIODRV_SYSFS_ROOT")
        .env_remove("MMIODRV_DEVICE")
        .output()
        .expect("run mmiodrv")
}

fn sysfs_hex(addr: &str, attr: &str) -> u64 {
    let text = fs::read_to_string(format!("/sys/bus/pci/devices/{addr}/{attr}")).unwrap();
    u64::from_str_radix(text.trim().trim_start_matches("0x"), 16).unwrap()
}

/// Returns how many devices it compared.
fn list_agrees_with_sysfs() -> Result<usize, Failed> {
    let o = mmiodrv(&["list", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let devices = v["devices"].as_array().unwrap();
    let mut expected: Vec<String> = fs::read_dir("/sys/bus/pci/devices")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    let listed: Vec<String> = devices.iter().map(|d| d["device"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, expected);
    for d in devices {
        let addr = d["device"].as_str().unwrap();
        assert_eq!(d["vendor_id"].as_u64().unwrap(), sysfs_hex(addr, "vendor"));
        assert_eq!(d["device_id"].as_u64().unwrap(), sysfs_hex(addr, "device"));
        assert_eq!(d["class"].as_u64().unwrap(), sysfs_hex(addr, "class") & 0xff_ffff);
        let driver = fs::read_link(format!("/sys/bus/pci/devices/{addr}/driver"))
            .ok()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned());
        assert_eq!(d["kernel_driver"].as_str().map(str::to_string), driver, "{addr}");
    }
    Ok(devices.len())
}

/// `info` of every host device is `lspci -vvv`'s output, line for line (as
/// root every capability; unprivileged both see 64 bytes and say
/// `<access denied>`); `info` of all of them is `lspci -vvv`; `list -tv` is
/// `lspci -tv`. Returns how many devices it compared.
fn info_agrees_with_lspci_on_host_devices() -> Result<usize, Failed> {
    let mut compared = 0;
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    for entry in fs::read_dir("/sys/bus/pci/devices").unwrap() {
        let addr = entry.unwrap().file_name().to_string_lossy().into_owned();
        let info = mmiodrv(&["--device", &addr, "info"]);
        assert!(info.status.success(), "{addr}: {}", String::from_utf8_lossy(&info.stderr));
        let lspci = Command::new("lspci").args(["-vvv", "-s", &addr]).output().unwrap();
        let problems = common::lspci::line_for_line(&text(&info), &text(&lspci));
        assert!(problems.is_empty(), "{addr}:\n{}", problems.join("\n"));
        compared += 1;
    }
    for (ours, theirs) in
        [(&["info"][..], &["-vvv"][..]), (&["info", "-v", "-k", "-nn"], &["-vknn"]), (&["list", "-tv"], &["-tv"])]
    {
        let (a, b) = (mmiodrv(ours), Command::new("lspci").args(theirs).output().unwrap());
        let problems = common::lspci::line_for_line(&text(&a), &text(&b));
        assert!(problems.is_empty(), "mmiodrv {ours:?} / lspci {theirs:?}:\n{}", problems.join("\n"));
    }
    Ok(compared)
}
