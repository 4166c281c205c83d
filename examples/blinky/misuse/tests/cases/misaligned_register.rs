// A register not aligned to its width does not compile.
mmiodrv::register_map! {
    pub mod regs {
        map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
        CTRL @ 0x06: u32, RW { EN [0] }
    }
}

fn main() {}
