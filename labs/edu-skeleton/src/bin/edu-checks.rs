//! The checks of the edu lab, in the lab guest: against your code
//! (src/tasks/), or with `--solution` against the reference solution
//! (solution/). `lab/test-skeleton [--solution] [TASK]` runs it; a filter runs
//! the checks whose name contains it (`edu-checks task3`), `--list` lists them.

fn main() -> std::process::ExitCode {
    let solution = std::env::args().skip(1).any(|a| a == "--solution");
    let args = std::env::args().filter(|a| a != "--solution");
    if solution {
        edu_skeleton::checks::main(args, "the reference solution (solution/)", edu_skeleton::checks!(solution))
    } else {
        edu_skeleton::checks::main(args, "your code (src/tasks/)", edu_skeleton::checks!(tasks))
    }
}
