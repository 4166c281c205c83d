// Fields that share a bit do not compile.
mmiodrv::register_map! {
    pub mod regs {
        map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
        CTRL @ 0x00: u32, RW { MODE [2:1], EN [1] }
    }
}

fn main() {}
