use crate::error::MapError;
use std::path::Path;

use super::*;
use crate::device::Device;
use crate::regmap;

const W1C: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/w1c/w1c.svd");
const EDU: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/edu/edu.ipxact-2014.xml");
const IVSHMEM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/ivshmem/ivshmem.ipxact-2014.xml");

fn sim(path: &str, options: &SimOptions) -> Device {
    Device::from_sim(SimBackend::open(Path::new(path), options).unwrap(), false)
}

#[test]
fn registers_start_at_reset_and_read_only_ignores_writes() {
    let dev = sim(EDU, &SimOptions::default());
    let w = dev.window(None, None, true).unwrap();
    let id = w.resolve("ID", None).unwrap();
    assert_eq!(w.read(&id).unwrap(), 0x0100_00ed);
    // The window refuses the write by name; a raw write reaches the device, which ignores it.
    assert!(w.write(&id, 1).is_err());
    w.io().write(0, Width::W32, 1).unwrap();
    assert_eq!(w.read(&id).unwrap(), 0x0100_00ed);
    let c = dev.backend().read_config().unwrap();
    assert_eq!((c.vendor_id(), c.device_id()), (Some(0xffff), Some(0xffff)));
    assert_eq!(dev.backend().bars().unwrap()[0].size, 0x10_0000, "the addressBlock's range");
}

#[test]
fn write_one_to_clear_and_field_writes_change_nothing_else() {
    let hw = SimBackend::open(Path::new(W1C), &SimOptions::default()).unwrap();
    let dev = Device::from_sim(hw.clone(), false);
    let w = dev.window(None, None, true).unwrap();
    let map = w.map().unwrap().clone();
    let status = map.register("STATUS").unwrap();
    let w1c: Vec<_> = status.fields.iter().filter(|f| status.field_write(f) == WriteSemantics::OneToClear).collect();
    assert!(w1c.len() >= 2, "w1c.svd has several write-one-to-clear fields in STATUS");
    // The device raises every pending bit.
    hw.set_register(0, "STATUS", status.width.max_value()).unwrap();
    // Acknowledge one: only that bit clears; the other pending bits stay,
    // read-only bits stay, read-write fields keep their value.
    let target = w1c[0];
    w.write(&w.resolve(&format!("STATUS.{}", target.name), None).unwrap(), 1).unwrap();
    let after = hw.register_value(0, "STATUS").unwrap();
    for f in status.fields.iter() {
        let want = if f.name == target.name { 0 } else { f.max_value() };
        assert_eq!(f.extract(after), want, "STATUS.{} after acknowledging {}", f.name, target.name);
    }
    // A raw write of ones clears every write-one-to-clear bit and no read-only one.
    w.io().write(status.offset, status.width, status.width.max_value()).unwrap();
    let after = hw.register_value(0, "STATUS").unwrap();
    for f in status.fields.iter() {
        let v = f.extract(after);
        match (status.field_access(f).writable(), status.field_write(f)) {
            (false, _) => assert_eq!(v, f.max_value(), "{} is read-only", f.name),
            (true, WriteSemantics::OneToClear) => assert_eq!(v, 0, "{}: writing 1 clears", f.name),
            (true, _) => assert_eq!(v, f.max_value(), "{} takes the value", f.name),
        }
    }
    // CTRL: 0 written to one-to-set/-toggle bits changes nothing; zero-to-clear clears.
    let ctrl = map.register("CTRL").unwrap();
    hw.set_register(0, "CTRL", ctrl.width.max_value()).unwrap();
    w.io().write(ctrl.offset, ctrl.width, 0).unwrap();
    let after = hw.register_value(0, "CTRL").unwrap();
    let mut seen = Vec::new();
    for f in ctrl.fields.iter() {
        let v = f.extract(after);
        match ctrl.field_write(f) {
            WriteSemantics::OneToSet | WriteSemantics::OneToToggle => assert_eq!(v, f.max_value(), "{}", f.name),
            WriteSemantics::ZeroToClear | WriteSemantics::Clear => assert_eq!(v, 0, "{}", f.name),
            _ => {}
        }
        seen.push(ctrl.field_write(f));
    }
    assert!(seen.contains(&WriteSemantics::OneToSet) && seen.contains(&WriteSemantics::ZeroToClear), "{seen:?}");
    hw.set_register(0, "CTRL", 0).unwrap();
    w.io().write(ctrl.offset, ctrl.width, ctrl.width.max_value()).unwrap();
    let after = hw.register_value(0, "CTRL").unwrap();
    for f in ctrl
        .fields
        .iter()
        .filter(|f| matches!(ctrl.field_write(f), WriteSemantics::OneToSet | WriteSemantics::OneToToggle))
    {
        assert_eq!(f.extract(after), f.max_value(), "{}: 1 sets or toggles 0 to 1", f.name);
    }
}

#[test]
fn read_to_clear_clears_on_read_and_write_only_reads_zero() {
    let dev = sim(IVSHMEM, &SimOptions::default());
    let w = dev.window(None, None, true).unwrap();
    let map = w.map().unwrap().clone();
    let status = map.register("INTR_STATUS").unwrap();
    assert!(status.read_side_effects);
    let hw = SimBackend::open(Path::new(IVSHMEM), &SimOptions::default()).unwrap();
    let dev = Device::from_sim(hw.clone(), false);
    let w = dev.window(None, None, true).unwrap();
    hw.set_register(0, "INTR_STATUS", 1).unwrap();
    assert_eq!(w.io().read(status.offset, status.width).unwrap(), 1, "first read sees the bit");
    assert_eq!(w.io().read(status.offset, status.width).unwrap(), 0, "and cleared it");
    let doorbell = map.register("DOORBELL").unwrap();
    assert!(!doorbell.access.readable());
    w.io().write(doorbell.offset, doorbell.width, 0x1234).unwrap();
    assert_eq!(w.io().read(doorbell.offset, doorbell.width).unwrap(), 0, "write-only reads 0");
    let dump = w.dump(false).unwrap();
    assert!(dump.iter().any(|d| d.name == "INTR_STATUS" && d.value.is_none()), "dump skips clear-on-read");
}

#[test]
fn state_file_keeps_writes_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("edu.state");
    let opts = SimOptions { state: Some(state.clone()), block: None };
    {
        let dev = sim(EDU, &opts);
        let w = dev.window(None, None, true).unwrap();
        w.write(&w.resolve("LIVENESS", None).unwrap(), 0xdead_beef).unwrap();
        w.write(&w.resolve("DMA_CMD.DIRECTION", None).unwrap(), 1).unwrap();
        w.io().write(0x1000, Width::W32, 0x55).unwrap();
    }
    let dev = sim(EDU, &opts);
    let w = dev.window(None, None, false).unwrap();
    assert_eq!(w.read(&w.resolve("LIVENESS", None).unwrap()).unwrap(), 0xdead_beef);
    assert_eq!(w.read(&w.resolve("DMA_CMD", None).unwrap()).unwrap(), 2);
    assert_eq!(w.read(&w.resolve("ID", None).unwrap()).unwrap(), 0x0100_00ed);
    assert_eq!(w.io().read(0x1000, Width::W32).unwrap(), 0x55, "bytes outside registers are RAM");
    // In memory (no state file), a new device starts from reset.
    let fresh = sim(EDU, &SimOptions::default());
    let w = fresh.window(None, None, false).unwrap();
    assert_eq!(w.read(&w.resolve("LIVENESS", None).unwrap()).unwrap(), 0);
}

#[test]
fn blocks_lie_at_their_addresses_and_split_registers_keep_their_word_order() {
    let nested = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/nested/nested.svd");
    let dev = sim(nested, &SimOptions::default());
    let bars: Vec<u8> = dev.backend().bars().unwrap().iter().map(|b| b.index).collect();
    assert_eq!(bars, [0], "two peripherals, one BAR");
    let w = dev.window(None, None, true).unwrap();
    assert_eq!(w.map().unwrap().name, "nested");
    let r = w.resolve("DMA1.CH[2]_SRC", None).unwrap();
    assert_eq!(r.target.register().unwrap().offset, 0x1030, "DMA1 at 0x1000, CH[2]_SRC at 0x30 in it");
    w.write(&r, 0x1234).unwrap();
    assert_eq!(w.read(&r).unwrap(), 0x1234);
    assert_eq!(w.io().read(0x1030, Width::W32).unwrap(), 0x1234);
    assert_eq!(w.io().read(0x0030, Width::W32).unwrap(), 0, "DMA0's register is another");
    let e = w.resolve("CH[2]_SRC", None).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Map(MapError::RegisterAmbiguous { .. })), "{e}");
    // One block: the base is kept (issue 25: --block DMA1 read CH[1]_SRC is 0x1020).
    let only = sim(nested, &SimOptions { state: None, block: Some("dma1".into()) });
    let w = only.window(None, None, false).unwrap();
    assert_eq!(w.map().unwrap().name, "DMA1");
    assert_eq!(w.resolve("CH[1]_SRC", None).unwrap().target.register().unwrap().offset, 0x1020);
    assert_eq!(w.resolve("dma1.ch[1]_src", None).unwrap().target.register().unwrap().offset, 0x1020);
    // Placed: sim:FILE@0x4000.
    let placed = Device::open(&format!("sim:{nested}@0x4000"), crate::device::OpenOptions::default()).unwrap();
    let w = placed.window(None, None, false).unwrap();
    assert_eq!(w.resolve("DMA1.CH[1]_SRC.ADDR", None).unwrap().target.register().unwrap().offset, 0x5020);

    // A LiteX CSR of two words: most significant word at the lower address.
    let file = regmap::formats::parse("csr_base,demo,0x0,,\ncsr_register,demo_counter,0x0,2,rw\n", "csr.csv").unwrap();
    let dev = Device::from_sim(SimBackend::new(Path::new("csr.csv"), &file, &SimOptions::default()).unwrap(), false);
    let w = dev.window(None, None, true).unwrap();
    w.write(&w.resolve("counter", None).unwrap(), 0x1111_2222_3333_4444).unwrap();
    assert_eq!(w.io().read(0, Width::W32).unwrap(), 0x1111_2222);
    assert_eq!(w.io().read(4, Width::W32).unwrap(), 0x3333_4444);
    assert_eq!(w.read(&w.resolve("counter", None).unwrap()).unwrap(), 0x1111_2222_3333_4444);
}

#[test]
fn a_drivers_unit_test_runs_against_the_simulated_device() {
    // What a driver test looks like: the typed edu driver on a simulated edu
    // built from its IP-XACT map (no hardware, no root).
    let dev = sim(EDU, &SimOptions::default());
    let bar = dev.backend().open_bar(0, crate::backend::BarOptions::RW).unwrap();
    assert_eq!(bar.read(0, Width::W32).unwrap() & 0xff, 0xed);
    bar.write(4, Width::W32, 0x1234_5678).unwrap();
    assert_eq!(bar.read(4, Width::W32).unwrap(), 0x1234_5678, "a map knows no inversion: the value is stored");
}
