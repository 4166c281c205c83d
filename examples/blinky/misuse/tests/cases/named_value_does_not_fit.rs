// A named value that does not fit its field does not compile.
mmiodrv::register_map! {
    pub mod regs {
        map MAP { name: "t", description: "t", bar: 0, size: None, access: [] }
        CTRL @ 0x00: u32, RW { MODE [2:1] = { 0: Off, 4: Ludicrous } }
    }
}

fn main() {}
