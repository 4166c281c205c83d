// A constant value that does not fit its field does not compile.
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    let _ = mmiodrv::field_value!(blinky_map::regs::CTRL::MODE, 4);
    let _ = (&CTRL, &IRQ_STATUS, &STATUS);
    Ok(())
}
