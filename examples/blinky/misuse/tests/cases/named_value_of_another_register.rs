// STATUS.LIT's named value is not a change of CTRL.
use blinky_map::regs::{CTRL, IRQ_STATUS, STATUS};

fn main() -> mmiodrv::Result<()> {
    let dev = mmiodrv::device::Device::sim(&blinky_map::regs::MAP)?;
    let bar = dev.backend().open_bar(0, mmiodrv::backend::BarOptions::RW)?;
    CTRL.modify(&*bar, STATUS::LIT::Lit)?;
    let _ = (&CTRL, &IRQ_STATUS, &STATUS);
    Ok(())
}
