//! `mmiodrv doctor [--device DEV]`: the library's checks, one line each with
//! the fix in this program's words.

use mmiodrv::doctor::{self, Finding, Status};
use mmiodrv::error::Result;
use mmiodrv::pci::{PciAddress, Sysfs};

use mmiodrv::command::Call;

use crate::cli::Global;
use crate::context::resolve_device;
use crate::output::errors::remedy;
use crate::output::print_json;

/// `doctor --json`: every check, and how many found a problem (then the
/// exit status is 10).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Doctor<'a> {
    /// The device checked too, if one was named.
    pub device: Option<PciAddress>,
    /// Each check, the system's first.
    pub checks: Vec<Check<'a>>,
    /// Checks with status `fail`.
    pub problems: usize,
}

/// One check of `doctor --json`, with its fix in this program's words.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Check<'a> {
    /// What was checked, how it came out, what was seen.
    #[serde(flatten)]
    pub finding: &'a Finding,
    /// What would fix it (for a check that is not ok).
    pub fix: Option<String>,
}

fn label(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Info => "info",
    }
}

/// The checks, one line each; a problem found makes the exit status 10.
pub fn run(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    let device = g.device.as_deref().map(|_| resolve_device(&g)).transpose()?;
    let mut findings = doctor::system(&Sysfs::from_env());
    if let Some(dev) = &device {
        findings.extend(doctor::device(dev));
    }
    let fix = |f: &Finding| f.remedy.as_ref().map(|r| remedy(r, None));
    let problems = findings.iter().filter(|f| f.status == Status::Fail).count();
    if g.json {
        let checks = findings.iter().map(|f| Check { finding: f, fix: fix(f) }).collect();
        print_json(call.path, &Doctor { device: device.as_ref().map(|d| d.address), checks, problems });
        return found(problems);
    }
    for f in &findings {
        let line = match fix(f) {
            Some(fix) if f.status != Status::Ok => {
                format!("{:<5} {}: {}; fix: {fix}", label(f.status), f.check, f.detail)
            }
            _ => format!("{:<5} {}: {}", label(f.status), f.check, f.detail),
        };
        outln!("{line}");
    }
    outln!("{}", summary(problems));
    found(problems)
}

fn summary(problems: usize) -> String {
    match problems {
        0 => "no problems found".into(),
        1 => "1 problem found".into(),
        n => format!("{n} problems found"),
    }
}

/// A problem makes the exit status 10.
fn found(problems: usize) -> Result<()> {
    match problems {
        0 => Ok(()),
        n => Err(crate::output::errors::findings(summary(n))),
    }
}
