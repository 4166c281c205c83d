//! Bounds-checked reads of the config-space bytes the decoder was given.
//!
//! lspci asks for a range before it reads it (`config_fetch`) and prints less
//! when the range was not read; [`Cfg::has`] is that question. A read outside
//! the bytes never panics: it returns all-ones, as an absent function does.

/// Config space as read: 64, 256 or 4096 bytes (or any other length).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cfg<'a> {
    bytes: &'a [u8],
}

impl<'a> Cfg<'a> {
    /// A view of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cfg { bytes }
    }

    /// Whether `len` bytes from `pos` were read (lspci's `config_fetch`).
    pub(crate) fn has(&self, pos: usize, len: usize) -> bool {
        len == 0 || pos.checked_add(len).is_some_and(|end| end <= self.bytes.len())
    }

    /// A byte (0xff outside what was read).
    pub(crate) fn b(&self, pos: usize) -> u8 {
        self.bytes.get(pos).copied().unwrap_or(0xff)
    }

    /// A little-endian 16-bit value.
    pub(crate) fn w(&self, pos: usize) -> u16 {
        u16::from_le_bytes([self.b(pos), self.b(pos.saturating_add(1))])
    }

    /// A little-endian 32-bit value.
    pub(crate) fn l(&self, pos: usize) -> u32 {
        u32::from(self.w(pos)) | (u32::from(self.w(pos.saturating_add(2))) << 16)
    }

    /// Header layout (0 endpoint, 1 bridge, 2 CardBus), without the
    /// multi-function bit.
    pub(crate) fn header_type(&self) -> u8 {
        self.b(0x0e) & 0x7f
    }
}

/// `bits` bits of `x` from bit `at` (lspci's `BITS`).
pub(crate) fn bits(x: u32, at: u32, width: u32) -> u32 {
    (x >> at) & ((1u32 << width) - 1)
}

/// The function being decoded: its bytes and the caller's options.
pub(crate) struct Dev<'a> {
    /// Config space.
    pub(crate) cfg: Cfg<'a>,
    /// Options.
    pub(crate) opt: &'a super::Options<'a>,
}

impl Dev<'_> {
    /// Verbosity (1 `-v`, 2 `-vv`, 3 `-vvv`).
    pub(crate) fn v(&self) -> u8 {
        self.opt.verbosity
    }
}

/// lspci's `FLAG` as a bool.
pub(crate) fn on(value: u32, mask: u32) -> bool {
    value & mask != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_outside_are_all_ones() {
        let c = Cfg::new(&[0x86, 0x80, 0x12]);
        assert_eq!(c.w(0), 0x8086);
        assert_eq!(c.w(2), 0xff12);
        assert_eq!(c.l(usize::MAX), 0xffff_ffff);
        assert!(c.has(0, 3));
        assert!(!c.has(1, 3));
        assert!(c.has(usize::MAX, 0));
        assert!(!c.has(usize::MAX, 1));
    }
}
