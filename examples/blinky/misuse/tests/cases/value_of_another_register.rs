// STATUS's value is not CTRL's: write its bits if that is meant.
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    CTRL.write(&*bar, STATUS.read(&*bar)?)?;
    let _ = (&CTRL, &IRQ_STATUS, &STATUS);
    Ok(())
}
