//! Vital Product Data (lspci's ls-vpd.c). The capability itself only names
//! the data; its contents come from the device's VPD, given in
//! [`Options::vpd`](super::Options::vpd).

use super::cfg::Dev;
use super::out::{w, Out};

/// Highest VPD address (15 bits).
const ADDR_MASK: usize = 0x7fff;

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Binary,
    Text,
    Reserved,
    ReadWrite,
}

/// Known keywords: `(first, second or 0 for any, format, name)`.
const ITEMS: &[(u8, u8, Format, &str)] = &[
    (b'C', b'P', Format::Binary, "Extended capability"),
    (b'E', b'C', Format::Text, "Engineering changes"),
    (b'M', b'N', Format::Text, "Manufacture ID"),
    (b'P', b'N', Format::Text, "Part number"),
    (b'R', b'V', Format::Reserved, "Reserved"),
    (b'R', b'W', Format::ReadWrite, "Read-write area"),
    (b'S', b'N', Format::Text, "Serial number"),
    (b'Y', b'A', Format::Text, "Asset tag"),
    (b'V', 0, Format::Text, "Vendor specific"),
    (b'Y', 0, Format::Text, "System specific"),
    // Non-standard extensions.
    (b'C', b'C', Format::Text, "CCIN"),
    (b'F', b'C', Format::Text, "Feature code"),
    (b'F', b'N', Format::Text, "FRU"),
    (b'N', b'A', Format::Text, "Network address"),
    (b'R', b'M', Format::Text, "Firmware version"),
    (b'Z', 0, Format::Text, "Product specific"),
];

fn item(id1: u8, id2: u8) -> (Format, &'static str) {
    ITEMS
        .iter()
        .find(|(a, b, _, _)| *a == id1 && (*b == 0 || *b == id2))
        .map(|(_, _, f, n)| (*f, *n))
        .unwrap_or((Format::Binary, "Unknown"))
}

/// A string as lspci prints it: backslashes doubled, control characters as
/// `\xNN`, a NUL at the very end dropped.
fn vpd_string(buf: &[u8]) -> String {
    let mut s = String::new();
    for (i, &ch) in buf.iter().enumerate() {
        if ch == b'\\' {
            s.push_str("\\\\");
        } else if ch == 0 && i + 1 == buf.len() {
            // Cards with NUL-terminated strings exist.
        } else if ch < 32 || ch == 127 {
            s.push_str(&format!("\\x{ch:02x}"));
        } else {
            // lspci writes the byte as is; bytes above 127 become U+0080..U+00FF here.
            s.push(char::from(ch));
        }
    }
    s
}

fn vpd_binary(buf: &[u8]) -> String {
    buf.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Reads of the VPD with lspci's running checksum.
struct Reader<'a> {
    vpd: Option<&'a [u8]>,
    csum: u8,
}

impl<'a> Reader<'a> {
    fn read(&mut self, pos: usize, len: usize) -> Option<&'a [u8]> {
        if len == 0 {
            // A read of nothing succeeds wherever it is (a zero-length pread).
            return self.vpd.map(|_| &[][..]);
        }
        let bytes = self.vpd?.get(pos..pos.checked_add(len)?)?;
        self.csum = bytes.iter().fold(self.csum, |c, b| c.wrapping_add(*b));
        Some(bytes)
    }
}

/// Decode the VPD capability.
pub(crate) fn cap_vpd(o: &mut Out, d: &Dev) {
    w!(o, "Vital Product Data\n");
    if d.v() < 2 {
        return;
    }
    let mut r = Reader { vpd: d.opt.vpd, csum: 0 };
    let mut res_addr = 0usize;
    while res_addr <= ADDR_MASK {
        let Some(&[mut tag]) = r.read(res_addr, 1) else { break };
        let res_len;
        if tag & 0x80 != 0 {
            if res_addr > ADDR_MASK + 1 - 3 {
                break;
            }
            let Some(&[lo, hi]) = r.read(res_addr + 1, 2) else { break };
            res_len = usize::from(lo) | (usize::from(hi) << 8);
            res_addr += 3;
        } else {
            res_len = usize::from(tag & 7);
            tag >>= 3;
            res_addr += 1;
        }
        if res_len > ADDR_MASK + 1 - res_addr {
            break;
        }
        match tag {
            0x0f => {
                w!(o, "\t\tEnd\n");
                return;
            }
            0x82 => product_name(o, &mut r, res_addr, res_len),
            0x90 | 0x91 => fields(o, &mut r, tag, res_addr, res_len),
            _ => {
                w!(
                    o,
                    "\t\tUnknown {} resource type {:02x}, will not decode more.\n",
                    if tag & 0x80 != 0 { "large" } else { "small" },
                    tag & !0x80
                );
                return;
            }
        }
        res_addr += res_len;
    }
    if res_addr == 0 {
        w!(o, "\t\tNot readable\n");
    } else {
        w!(o, "\t\tNo end tag found\n");
    }
}

fn product_name(o: &mut Out, r: &mut Reader, at: usize, len: usize) {
    w!(o, "\t\tProduct Name: ");
    let mut name = String::new();
    let mut pos = 0;
    while pos < len {
        let part = (len - pos).min(256);
        let Some(buf) = r.read(at + pos, part) else { break };
        name.push_str(&vpd_string(buf));
        pos += part;
    }
    w!(o, "{}\n", o.s("ProductName", &name));
}

fn fields(o: &mut Out, r: &mut Reader, tag: u8, at: usize, len: usize) {
    w!(o, "\t\t{} fields:\n", if tag == 0x90 { "Read-only" } else { "Read/write" });
    let mut pos = 0;
    while pos + 3 <= len {
        let Some(&[id1, id2, part_len]) = r.read(at + pos, 3) else { break };
        pos += 3;
        let part_len = usize::from(part_len);
        if part_len > len - pos {
            break;
        }
        let (format, name) = item(id1, id2);
        let read_len = if format == Format::Reserved { 1 } else { part_len };
        let Some(buf) = r.read(at + pos, read_len) else { break };
        let key = vpd_string(&[id1, id2]);
        w!(o, "\t\t\t[{key}] {name}: ");
        match format {
            Format::Text => w!(o, "{}\n", o.s(&key, &vpd_string(buf))),
            Format::Binary => w!(o, "{}\n", o.s(&key, &vpd_binary(buf))),
            Format::Reserved => w!(
                o,
                "checksum {}, {} byte(s) reserved\n",
                o.s("Checksum", if r.csum != 0 { "bad" } else { "good" }),
                o.i("Reserved", part_len as i64 - 1)
            ),
            Format::ReadWrite => w!(o, "{} byte(s) free\n", o.n(&key, part_len as u64)),
        }
        pos += part_len;
    }
}
