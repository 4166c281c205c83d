//! blinky's driver against a simulated blinky: the device its map
//! declares, with its IDs, reset values, read-only and write-1-to-clear
//! registers. No hardware, no root.

// ANCHOR: tests
use blinky::regs::{CTRL, IRQ_STATUS, STATUS};
use blinky::{Blinky, Mode, DRIVER};
use mmiodrv::backend::sim::SimBackend;
use mmiodrv::device::Device;
use mmiodrv::error::ErrorKind;
use mmiodrv::session::{Op, Session, SessionOptions};

#[test]
fn the_driver_passes_the_checks_of_the_built_in_ones() {
    mmiodrv::drivers::validate(&DRIVER).unwrap();
}

#[test]
fn a_simulated_blinky_starts_at_its_reset_values() {
    let dev = Device::sim_driver(&DRIVER).unwrap();
    let blinky = Blinky::open(dev.backend()).unwrap();
    let s = blinky.status().unwrap();
    assert!(s.ready && !s.enabled && !s.event);
    assert_eq!((s.mode, s.blinks, s.irq_status), ("Off", 0, 0));
}

#[test]
fn set_mode_leaves_a_pending_event_pending() {
    let hardware = SimBackend::for_driver(&DRIVER).unwrap();
    let dev = Device::simulating(hardware.clone(), &DRIVER);
    let blinky = Blinky::open(dev.backend()).unwrap();
    hardware.set_register(0, "CTRL", CTRL::EVENT.mask().into()).unwrap(); // the device raises EVENT
    blinky.set_mode(Mode::Fast).unwrap();
    let ctrl = hardware.register_value(0, "CTRL").unwrap();
    assert_eq!(ctrl, 0x107, "EVENT still pending, MODE Fast, ENABLE set");
    assert!(blinky.status().unwrap().event);
}

#[test]
fn acknowledge_clears_what_is_pending_and_nothing_else() {
    let hardware = SimBackend::for_driver(&DRIVER).unwrap();
    let dev = Device::simulating(hardware.clone(), &DRIVER);
    let blinky = Blinky::open(dev.backend()).unwrap();
    blinky.set_mode(Mode::Slow).unwrap();
    hardware.set_register(0, "IRQ_STATUS", 0b11).unwrap();
    hardware.set_register(0, "CTRL", 0x103).unwrap();
    assert_eq!(blinky.acknowledge().unwrap(), 0x103);
    assert_eq!(hardware.register_value(0, "IRQ_STATUS").unwrap(), 0, "write 1 to clear");
    assert_eq!(hardware.register_value(0, "CTRL").unwrap(), 0x3, "EVENT acknowledged, MODE and ENABLE kept");
}

#[test]
fn the_simulated_device_honours_read_only_registers() {
    let dev = Device::sim_driver(&DRIVER).unwrap();
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW).unwrap();
    // STATUS.write does not compile (read-only); a raw write is ignored by the device.
    bar.write(STATUS.offset(), STATUS.width(), 0).unwrap();
    assert!(STATUS.read(&*bar).unwrap().is_set(STATUS::READY));
    IRQ_STATUS.write(&*bar, IRQ_STATUS::BLINK::SET).unwrap(); // clears nothing: nothing pending
    assert_eq!(IRQ_STATUS.read(&*bar).unwrap(), 0);
}

#[test]
fn another_device_is_refused() {
    // A device simulated from the map alone says it is ffff:ffff.
    let dev = Device::sim(&blinky::regs::MAP).unwrap();
    let e = Blinky::open(dev.backend()).err().unwrap();
    assert!(matches!(e.kind(), ErrorKind::WrongDevice { .. }));
    assert!(e.to_string().contains("not a blinky"), "{e}");
}

#[test]
fn its_commands_run_in_a_session_as_every_front_end_runs_them() {
    mmiodrv::drivers::install(&[&DRIVER]).unwrap();
    let dev = Device::sim_driver(&DRIVER).unwrap();
    let session = Session::new(&dev, SessionOptions::default());
    let mut out = mmiodrv::command::Collect::default();
    for line in ["write CTRL.MODE medium", "blinky mode fast", "expect CTRL.MODE FAST", "blinky status"] {
        let op = match mmiodrv::session::parse_line(line, &mmiodrv::session::line_commands()).unwrap() {
            mmiodrv::session::Line::Request(r) => r.op,
            _ => panic!("{line}"),
        };
        assert!(matches!(op, Op::Write { .. } | Op::Expect { .. } | Op::Driver { .. }));
        session.execute(op, &mut out).unwrap();
    }
    let Some(mmiodrv::outcome::Outcome::Report { op, report }) = out.0.last() else { panic!("no report") };
    assert_eq!((op.as_str(), &report.json["mode"]), ("blinky status", &serde_json::json!("Fast")));
}
// ANCHOR_END: tests
