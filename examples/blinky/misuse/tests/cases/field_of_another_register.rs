// A field of CTRL does not read STATUS's value.
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    let _ = CTRL::MODE.get(STATUS.read(&*bar)?);
    let _ = (&CTRL, &IRQ_STATUS, &STATUS);
    Ok(())
}
