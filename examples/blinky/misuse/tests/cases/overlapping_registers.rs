// Registers that overlap do not compile.
mmiodrv::register_map! {
    pub mod regs {
        map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
        A @ 0x00: u64, RW {}
        B @ 0x04: u32, RW {}
    }
}

fn main() {}
