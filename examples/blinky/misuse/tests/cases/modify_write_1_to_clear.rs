// A write-1-to-clear register has no modify (write the bits to clear).
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    IRQ_STATUS.modify(&*bar, IRQ_STATUS::BLINK::SET)?;
    let _ = (&CTRL, &IRQ_STATUS, &STATUS);
    Ok(())
}
