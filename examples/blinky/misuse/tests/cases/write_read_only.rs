// A read-only register has no write.
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    STATUS.write(&*bar, 0u32)?;
    let _ = (&CTRL, &IRQ_STATUS, &STATUS);
    Ok(())
}
