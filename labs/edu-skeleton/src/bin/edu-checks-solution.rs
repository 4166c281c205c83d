//! The checks of the edu lab against the reference solution (solution/):
//! `lab/test-skeleton --solution [TASK]`; CI runs it in the VM suite.

fn main() -> std::process::ExitCode {
    edu_skeleton::checks::main("the reference solution (solution/)", edu_skeleton::checks!(solution))
}
