//! mmiodrv on QEMU's real devices in the lab guest: edu at 00:04.0 and
//! ivshmem-plain at 00:05.0 (its BAR2 backed by a host file). One guest boot runs
//! every trial below in order; see tests/common/vm.rs for the harness.

#[path = "vm/backends.rs"]
mod backends;
#[path = "vm/batch.rs"]
mod batch;
mod common;
#[path = "vm/core.rs"]
mod core_tests;
#[path = "vm/e1000.rs"]
mod e1000;
#[path = "vm/ecosystem.rs"]
mod ecosystem;
#[path = "vm/edu.rs"]
mod edu;
#[path = "vm/faults.rs"]
mod faults;
#[path = "vm/hostile.rs"]
mod hostile;
#[path = "vm/labs.rs"]
mod labs;
#[path = "vm/observe.rs"]
mod observe;
#[path = "vm/paths.rs"]
mod paths;
#[path = "vm/regmap.rs"]
mod regmap;
#[path = "vm/skeleton.rs"]
mod skeleton;

use std::process::ExitCode;

use common::vm::{run_suite, TestFn};

pub const EDU: &str = "mmiodrv --device 0000:00:04.0";
pub const IVSHMEM: &str = "mmiodrv --device 0000:00:05.0";

fn main() -> ExitCode {
    let tests: &[(&'static str, TestFn)] = &[
        ("labs::docs_run_as_written", labs::docs_run_as_written),
        // Both from the state the guest boots in (before faults' sysfs remove and
        // rescan move BAR0 from the address the pages show).
        ("labs::docs_labs_run_as_written", labs::docs_labs_run_as_written),
        ("core::edu_dump_regs_by_name", core_tests::edu_dump_regs_by_name),
        ("core::edu_read_write_liveness", core_tests::edu_read_write_liveness),
        ("core::edu_fields_and_json", core_tests::edu_fields_and_json),
        ("core::edu_width_rules_protect_the_device", core_tests::edu_width_rules),
        ("core::selectors_and_list", core_tests::selectors_and_list),
        ("core::info_agrees_with_lspci", core_tests::info_agrees_with_lspci),
        ("core::config_matches_lspci_xxx", core_tests::config_matches_lspci_xxx),
        ("core::ivshmem_registers_and_bar2", core_tests::ivshmem_registers_and_bar2),
        ("core::ivshmem_host_file_sees_guest_writes", core_tests::ivshmem_host_sees_guest),
        ("core::decoding_disabled_is_reported", core_tests::decoding_disabled_is_reported),
        ("ecosystem::selection_as_lspci", ecosystem::selection_as_lspci),
        ("ecosystem::info_line_for_line_on_every_device", ecosystem::info_line_for_line_on_every_device),
        ("ecosystem::config_read_write_against_setpci", ecosystem::config_against_setpci),
        ("ecosystem::json_output_matches_the_schema", ecosystem::json_matches_the_schema),
        ("ecosystem::doctor_in_a_healthy_guest", ecosystem::doctor_in_a_healthy_guest),
        ("backends::every_command_on_every_backend", backends::every_command_on_every_backend),
        ("backends::vfio_interrupts_in_one_process", backends::vfio_interrupts_in_one_process),
        ("backends::uio_interrupt_from_another_process", backends::uio_interrupt_from_another_process),
        ("backends::bind_loads_a_missing_driver_module", backends::bind_loads_a_missing_driver_module),
        ("backends::vfio_dma_round_trip", backends::vfio_dma_round_trip),
        ("backends::ivshmem_bar2_through_vfio_and_host_file", backends::ivshmem_bar2_through_vfio),
        ("backends::bad_input_leaves_nothing_bound_wrong", backends::bad_input),
        ("backends::vfio_group_busy_in_another_process", backends::vfio_group_busy),
        ("backends::bind_and_restore", backends::bind_restore),
        ("backends::devices_in_use_are_not_unbound", backends::devices_in_use_are_not_unbound),
        ("edu::id_liveness_status", edu::id_liveness_status),
        ("edu::factorial_polling_and_irq", edu::factorial_polling_and_irq),
        ("edu::irq_raise_ack_wait", edu::irq_raise_ack_wait),
        ("edu::dma_both_ways_with_offsets", edu::dma_both_ways),
        ("edu::bad_input_then_device_still_works", edu::bad_input_then_works),
        ("edu::json_output", edu::json_output),
        ("edu::library_example_drives_edu", edu::library_example_drives_edu),
        ("edu::names_are_values", edu::names_are_values),
        ("batch::vfio_script_raises_waits_and_acks", batch::vfio_script_raises_waits_and_acks),
        ("batch::dma_round_trip_from_a_script", batch::dma_round_trip_from_a_script),
        ("batch::a_bad_last_line_touches_nothing", batch::a_bad_last_line_touches_nothing),
        ("batch::keep_going_runs_the_rest", batch::keep_going_runs_the_rest),
        ("batch::json_lines_equal_the_one_shot_json", batch::json_lines_equal_the_one_shot_json),
        ("batch::a_pipe_session_under_vfio", batch::a_pipe_session_under_vfio),
        ("faults::removal_of_a_held_device_completes_at_once", faults::removal_of_a_held_device_completes_at_once),
        ("faults::unbind_of_a_held_device_names_the_line", faults::unbind_of_a_held_device_names_the_line),
        ("faults::signals_stop_a_run_at_its_line", faults::signals_stop_a_run_at_its_line),
        ("faults::a_revoked_mapping_is_an_error_not_a_crash", faults::a_revoked_mapping_is_an_error_not_a_crash),
        (
            "faults::an_interrupted_bind_is_complete_or_not_started",
            faults::an_interrupted_bind_is_complete_or_not_started,
        ),
        ("faults::concurrent_users_take_turns", faults::concurrent_users_take_turns),
        ("faults::binding_respects_other_holders", faults::binding_respects_other_holders),
        ("faults::a_signal_during_dma_waits_for_the_transfer", faults::a_signal_during_dma_waits_for_the_transfer),
        (
            "faults::removal_under_poll_watch_and_copies_on_every_backend",
            faults::removal_under_poll_watch_and_copies_on_every_backend,
        ),
        ("e1000::mac_and_link_match_the_kernel", e1000::mac_and_link_match_the_kernel),
        ("e1000::writing_a_driver_runs_as_written", e1000::writing_a_driver_runs_as_written),
        ("observe::watch_sees_a_factorial_from_another_process", observe::watch_sees_a_factorial_from_another_process),
        ("observe::top_samples_status_under_factorials", observe::top_samples_status_under_factorials),
        (
            "observe::snapshot_then_diff_names_the_register_and_field",
            observe::snapshot_then_diff_names_the_register_and_field,
        ),
        ("observe::host_file_device_sees_guest_writes", observe::host_file_device_sees_guest_writes),
        ("observe::trace_then_replay_on_a_fresh_guest", observe::trace_then_replay_on_a_fresh_guest),
        ("paths::intx_three_times_in_one_process", paths::intx_three_times_in_one_process),
        ("paths::wait_irq_count_and_vector", paths::wait_irq_count_and_vector),
        ("paths::io_port_bar_through_sysfs_and_vfio", paths::io_port_bar_through_sysfs_and_vfio),
        ("paths::write_combining_mapping", paths::write_combining_mapping),
        ("skeleton::the_solution_passes_every_check", skeleton::the_solution_passes_every_check),
        ("skeleton::the_unfinished_skeleton_fails_every_check", skeleton::the_unfinished_skeleton_fails_every_check),
        (
            "regmap::every_format_reads_and_writes_like_the_builtin_map",
            regmap::every_format_reads_and_writes_like_the_builtin_map,
        ),
        ("regmap::generated_rust_drives_edu", regmap::generated_rust_drives_edu),
        ("hostile::vector_checked_before_the_write", hostile::vector_checked_before_the_write),
        // Last: it binds and unbinds the guest's devices (and puts them back).
        ("hostile::corpus_of_hostile_command_lines", hostile::corpus),
    ];
    run_suite("vm", tests, configure)
}

/// The regmap trial's map files, and the edu lab's programs (labs, skeleton).
fn configure(cfg: &mut mmiodrv_lab::LabConfig) {
    regmap::configure(cfg);
    common::vm::with_lab_skeleton(cfg);
}
