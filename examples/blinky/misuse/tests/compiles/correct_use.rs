// What the misuse cases get wrong, done right: this compiles and runs.
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    let _ready = STATUS.read(&*bar)?.is_set(STATUS::READY);
    CTRL.write(&*bar, CTRL::MODE::Fast | CTRL::ENABLE::SET)?;
    CTRL.modify(&*bar, CTRL::MODE::Slow)?;
    assert_eq!(CTRL::MODE.read_as(CTRL.read(&*bar)?), Some(CTRL::MODE::Slow));
    CTRL.write(&*bar, STATUS.read(&*bar)?.bits())?; // a number: written as it is
    IRQ_STATUS.write(&*bar, IRQ_STATUS::BLINK::SET)?;
    let _fast = mmiodrv::field_value!(blinky_map::regs::CTRL::MODE, 3);
    assert!(CTRL::ENABLE.val(2).is_err());
    Ok(())
}
