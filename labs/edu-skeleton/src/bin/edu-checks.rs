//! The checks of the edu lab against your code (src/tasks/). Run by
//! `lab/test-skeleton [TASK]` in the lab guest; a filter runs the checks whose
//! name contains it (`edu-checks task3`), `--list` lists them.

fn main() -> std::process::ExitCode {
    edu_skeleton::checks::main("your code (src/tasks/)", edu_skeleton::checks!(tasks))
}
