//! The VM test harness: one lab guest per test binary, many trials in it.
//!
//! `cargo test` runs a `harness = false` binary built on libtest-mimic: it builds
//! the static `mmiodrv` for the guest, boots the lab once, runs the trials one at
//! a time against it, then shuts the guest down (pass or fail; the lab's Drop
//! kills QEMU and removes its files if anything panics).

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use mmiodrv_lab::{CmdOutput, Lab, LabConfig};

pub type TestFn = fn(&mut Lab) -> Result<(), Failed>;

/// Build the static guest binaries (mmiodrv, the edu examples, and the edu
/// lab's checks and lab-mappings: [`LAB_SKELETON_BINARIES`]) with
/// `lab/build-static`, the one list of them (the benches build `mmiodrv`
/// alone the same way): up to date after the first suite built them.
fn build_static_mmiodrv() -> Result<PathBuf, String> {
    let root = mmiodrv_lab::repo_root();
    let status = Command::new(root.join("lab/build-static"))
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run lab/build-static: {e}"))?;
    if !status.success() {
        return Err("static build of mmiodrv failed".into());
    }
    Ok(static_mmiodrv())
}

/// The VM suites' static `mmiodrv` ([`build_static_mmiodrv`] builds it; the
/// guest profile's directory also holds the examples and the edu lab's
/// programs), not lab/run's release build.
pub fn static_mmiodrv() -> PathBuf {
    mmiodrv_lab::repo_root().join(mmiodrv_lab::STATIC_TEST_SUBDIR)
}

/// The lab's configuration with the VM suites' own static `mmiodrv`
/// ([`build_static_mmiodrv`], not lab/run's release build): for a second
/// guest a trial boots itself.
pub fn guest_config() -> LabConfig {
    LabConfig { mmiodrv_binary: Some(static_mmiodrv()), ..LabConfig::default() }
}

/// The edu lab's programs (labs/edu-skeleton), built with mmiodrv: path under
/// the guest profile's dir, and where a suite that wants them puts them in the guest
/// ([`with_lab_skeleton`]).
pub const LAB_SKELETON_BINARIES: &[(&str, &str)] =
    &[("edu-checks", "/usr/local/bin/edu-checks"), ("examples/lab-mappings", "/usr/local/bin/lab-mappings")];

/// Put the edu lab's programs into the guest (a suite's `configure`).
pub fn with_lab_skeleton(cfg: &mut LabConfig) {
    let mmiodrv = static_mmiodrv();
    for (built, guest) in LAB_SKELETON_BINARIES {
        cfg.extra_files.push((guest.to_string(), mmiodrv.with_file_name(built)));
    }
}

/// Report every trial as ignored, with one loud line saying why (outside CI,
/// when what the suite needs is missing).
pub fn skip_suite(name: &str, tests: &[(&'static str, TestFn)], why: &str) -> ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    eprintln!("!!!!! SKIPPING {name} VM tests: {why} !!!!!");
    let trials = tests.iter().map(|(n, _)| Trial::test(*n, || Ok(())).with_ignored_flag(true)).collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Run the trials in one lab guest. Outside CI a missing lab skips with one loud
/// line; under CI=true it fails.
pub fn run_suite(name: &str, tests: &[(&'static str, TestFn)], configure: fn(&mut LabConfig)) -> ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let mut cfg = LabConfig::default();
    configure(&mut cfg);
    if let Err(why) = cfg.check_prepared() {
        if ci {
            eprintln!("{name}: CI=true but the QEMU lab is not prepared: {why}");
            return ExitCode::FAILURE;
        }
        return skip_suite(name, tests, &format!("{why} (run `sudo lab/prepare.sh`, or the README's test command)"));
    }
    if args.list {
        let trials = tests.iter().map(|(n, _)| Trial::test(*n, || Ok(()))).collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    match build_static_mmiodrv() {
        Ok(bin) => {
            for example in ["edu_driver", "edu_window"] {
                let path = bin.with_file_name("examples").join(example);
                cfg.extra_files.push((format!("/usr/local/bin/{example}"), path));
            }
            // examples/generated-edu: edu's registers generated from its map in every format.
            cfg.extra_files.push(("/usr/local/bin/edu-generated".into(), bin.with_file_name("edu-generated")));
            cfg.mmiodrv_binary = Some(bin);
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let lab = match Lab::boot(cfg) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("{name}: the lab guest did not come up: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{name}: lab guest up in {:.1} s", lab.boot_time().as_secs_f64());
    let shared = Arc::new(Mutex::new(lab));
    let trials = tests
        .iter()
        .map(|(n, f)| {
            let lab = Arc::clone(&shared);
            let f = *f;
            Trial::test(*n, move || {
                let mut guard = lab.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut guard)
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    match Arc::try_unwrap(shared) {
        Ok(m) => {
            if let Err(e) = m.into_inner().unwrap_or_else(|p| p.into_inner()).shutdown() {
                eprintln!("{name}: lab shutdown: {e}");
            }
        }
        Err(_) => eprintln!("{name}: lab still shared at exit; Drop will kill it"),
    }
    conclusion.exit_code()
}

/// Run a shell command in the guest; an agent failure is a test failure.
pub fn sh(lab: &mut Lab, cmd: &str) -> Result<CmdOutput, Failed> {
    lab.run(cmd).map_err(|e| Failed::from(format!("`{cmd}`: {e}")))
}

/// The kernel driver bound to a device in the guest ("none" when unbound).
pub fn driver_of(lab: &mut Lab, addr: &str) -> Result<String, Failed> {
    let out = ok(lab, &format!("basename $(readlink /sys/bus/pci/devices/{addr}/driver) 2>/dev/null || echo none"))?;
    Ok(out.trim().to_string())
}

/// Run a command that must succeed; returns its stdout.
pub fn ok(lab: &mut Lab, cmd: &str) -> Result<String, Failed> {
    let o = sh(lab, cmd)?;
    if o.status != 0 {
        return Err(
            format!("`{cmd}` exited {}\nstdout:\n{}\nstderr:\n{}", o.status, o.stdout_str(), o.stderr_str()).into()
        );
    }
    Ok(o.stdout_str())
}

/// Run a check that must find something (a difference, a problem): exit
/// status 10, nothing on stderr; returns its stdout (the report).
pub fn finds(lab: &mut Lab, cmd: &str) -> Result<String, Failed> {
    let o = sh(lab, cmd)?;
    if o.status != 10 || !o.stderr_str().is_empty() {
        return Err(format!(
            "`{cmd}`: expected exit 10 and nothing on stderr; got {}\nstdout:\n{}\nstderr:\n{}",
            o.status,
            o.stdout_str(),
            o.stderr_str()
        )
        .into());
    }
    Ok(o.stdout_str())
}

/// Run a command that must fail with `code` and a one-line stderr containing `msg`.
pub fn fails(lab: &mut Lab, cmd: &str, code: i32, msg: &str) -> Result<String, Failed> {
    let o = sh(lab, cmd)?;
    let err = o.stderr_str();
    if o.status != code || !err.contains(msg) || err.trim_end().lines().count() != 1 {
        return Err(format!(
            "`{cmd}`: expected exit {code} and one line with {msg:?}; got {}\nstdout:\n{}\nstderr:\n{err}",
            o.status,
            o.stdout_str()
        )
        .into());
    }
    Ok(err)
}

/// Fail with a message unless `cond`.
pub fn check(cond: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(Failed::from(msg.into()))
    }
}
