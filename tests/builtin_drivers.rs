//! The built-in drivers (drivers/) as the library sees them once installed,
//! as the command line and Python install them: each passes the checks a
//! driver crate's own tests run (`mmiodrv::drivers::validate`), is found
//! by its IDs and name, its commands are lines of a script, its maps name
//! the registers of a trace.

use mmiodrv::device::Device;
use mmiodrv::drivers::{self, DriverInfo};
use mmiodrv::error::ErrorKind;
use mmiodrv::error::ObserveError;
use mmiodrv::mmio::Width;
use mmiodrv::observe::trace::{Header, Names, Trace, FORMAT};
use mmiodrv::observe::DeviceIds;
use mmiodrv::session::{line_commands, parse_line, Line, Op};
use mmiodrv_drivers::BUILTIN;

fn installed() -> &'static [&'static DriverInfo] {
    drivers::install(BUILTIN).unwrap();
    BUILTIN
}

#[test]
fn every_builtin_driver_passes_validate() {
    for d in installed() {
        assert!(!d.maps.is_empty(), "{}", d.name());
        drivers::validate(d).unwrap_or_else(|e| panic!("{}:\n{e}", d.name()));
    }
}

#[test]
fn builtin_drivers_are_found_by_ids_and_name() {
    for d in installed() {
        for (v, dev) in d.ids {
            assert_eq!(drivers::for_ids(*v, *dev).map(|x| x.name()), Some(d.name()));
        }
        assert_eq!(drivers::by_name(d.name()).map(|x| x.name()), Some(d.name()));
    }
    assert!(drivers::for_ids(0xffff, 0xffff).is_none());
}

#[test]
fn driver_commands_are_lines_of_a_script() {
    installed();
    let op = |line: &str| match parse_line(line, &line_commands()) {
        Ok(Line::Request(r)) => Ok(r.op),
        Ok(_) => panic!("{line}: no request"),
        Err(e) => Err(e),
    };
    assert!(matches!(op("edu factorial 10").unwrap(), Op::Driver { .. }));
    let e = op("edu factorial 0x100000000").unwrap_err();
    assert_eq!(e.class(), mmiodrv::ErrorClass::Usage, "{e}");
}

#[test]
fn a_trace_from_a_pci_device_is_refused_on_a_file() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("shm");
    std::fs::write(&shm, [0u8; 64]).unwrap();
    let device = Device::open(&format!("file:{}", shm.display()), Default::default()).unwrap();
    let header = Header {
        trace: FORMAT,
        device: "ffff:00:04.0".into(),
        ids: Some(DeviceIds { vendor: 0x1234, device: 0x11e8, revision: Some(0x10), subsystem: None }),
        backend: "file".into(),
        time: String::new(),
        command: vec![],
    };
    let t = Trace { path: "t.jsonl".into(), header, entries: vec![] };
    let e = mmiodrv::observe::replay::check_device(&t, &device).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Observe(ObserveError::TraceFromOtherDevice { .. })));
    assert!(e.to_string().contains("was recorded on ffff:00:04.0 (IDs 1234:11e8 rev 10, edu)"), "{e}");
    assert_eq!(e.class(), mmiodrv::ErrorClass::Refused);
}

#[test]
fn trace_names_come_from_the_map_with_halves_and_fields() {
    installed();
    let header = Header {
        trace: FORMAT,
        device: "ffff:00:04.0".into(),
        ids: Some(DeviceIds { vendor: 0x1234, device: 0x11e8, revision: Some(0x10), subsystem: None }),
        backend: "sysfs".into(),
        time: String::new(),
        command: vec![],
    };
    let t = Trace { path: "t".into(), header, entries: vec![] };
    let names = Names::for_trace(&t, None, false);
    let n = names.name(0, 0x20, Width::W32, Some(1)).unwrap();
    assert_eq!(n.register, "STATUS");
    assert_eq!(n.fields.iter().find(|f| f.name == "COMPUTING").unwrap().meaning.as_deref(), Some("busy"));
    assert_eq!(names.name(0, 0x84, Width::W32, None).unwrap().register, "DMA_SRC+0x4");
    assert_eq!(names.name(0, 0x40, Width::W32, None), None);
    assert_eq!(names.name(1, 0, Width::W32, None), None);
}
