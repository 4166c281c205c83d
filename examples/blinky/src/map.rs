// blinky's registers, declared once: the typed registers (`regs::CTRL`...)
// and the map `dump-regs`, `read` and `write` use by name (`regs::MAP`).
// src/lib.rs includes it (and so do the misuse cases in misuse/).
mmiodrv::register_map! {
    /// blinky's BAR0, as its datasheet tables it.
    pub mod regs {
        map MAP {
            name: "blinky",
            description: "blinky, a made-up LED controller (PCI 1234:b1b1)",
            bar: 0,
            size: Some(0x1000),
            // The datasheet: 32-bit accesses only.
            access: [(0x00, 0x1000, [W32])],
        }
        /// Control
        CTRL @ 0x00: u32, RW, reset 0 {
            /// An event is pending (COUNTER wrapped): write 1 to acknowledge it
            EVENT [8] write OneToClear,
            /// Blink speed
            MODE [2:1] = { 0: Off, 1: Slow, 2: Medium, 3: Fast },
            /// Light the LED
            ENABLE [0],
        }
        /// Status
        STATUS @ 0x04: u32, RO, reset 0x1 {
            /// The LED is lit right now
            LIT [1] = { 0: Dark, 1: Lit },
            /// The controller is ready
            READY [0],
        }
        /// Blinks since reset
        COUNTER @ 0x08: u32, RW, reset 0 {}
        /// Pending interrupts: write 1 to clear
        IRQ_STATUS @ 0x0c: u32, RW1C, reset 0 {
            /// COUNTER wrapped
            WRAP [1],
            /// The LED blinked
            BLINK [0],
        }
    }
}
