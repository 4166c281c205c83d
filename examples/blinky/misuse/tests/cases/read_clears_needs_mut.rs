// A read that clears the register takes the window by &mut: not through &.
mmiodrv::register_map! {
    pub mod regs {
        map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
        /// Pending events: reading clears them
        EVENTS @ 0x00: u32, RO + ReadClears { DONE [0] }
    }
}

fn main() -> mmiodrv::Result<()> {
    let bar = mmiodrv::mmio::MmioRegion::ram(0x1000)?;
    let shared = &bar;
    let _ = regs::EVENTS.read(shared)?;
    Ok(())
}
