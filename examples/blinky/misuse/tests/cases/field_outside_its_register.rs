// A field outside its register does not compile.
mmiodrv::register_map! {
    pub mod regs {
        map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
        CTRL @ 0x00: u16, RW { EN [16] }
    }
}

fn main() {}
