//! The frames of a remote run: both directions of the SSH channel carry a
//! stream of `[tag: u8][length: u32 little-endian][payload]` frames, so the
//! far side's standard output, its error lines, the lines of a script it has
//! done and its exit status arrive in the order it made them, on one
//! channel, and the near side's input, end of input and stop requests reach
//! it beside them.
//!
//! The far side is `mmiodrv` itself (the same version: see
//! [`super::VERSION`]), run with [`super::FRAMED_ENV`] set; the near side is
//! [`super::Running`].

use std::io::{self, Read, Write};

/// Longest payload of one frame: longer output is sent in several frames;
/// a longer frame received is a broken stream (bounded work on any input).
pub const MAX_PAYLOAD: usize = 1 << 20;

/// What a frame carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    // ---- far side -> near side
    /// The far side started: its `mmiodrv --version` text.
    Hello(String),
    /// Bytes of its standard output.
    Out(Vec<u8>),
    /// Bytes of its standard error (whole lines: error messages).
    Err(Vec<u8>),
    /// Every line of the script or pipe input up to this one (1-based) is
    /// done and its output was sent before this frame.
    Done(u64),
    /// It ended with this exit status.
    Exit(i32),
    // ---- near side -> far side
    /// Bytes of its standard input.
    Input(Vec<u8>),
    /// End of its standard input.
    EndOfInput,
    /// Stop, as this signal asks (its number: SIGINT 2, SIGTERM 15).
    Stop(i32),
}

const HELLO: u8 = b'H';
const OUT: u8 = b'O';
const ERR: u8 = b'E';
const DONE: u8 = b'D';
const EXIT: u8 = b'X';
const INPUT: u8 = b'I';
const END: u8 = b'C';
const STOP: u8 = b'S';
/// [`Frame::Out`] compressed ([`Frame::write_compact`]): the output's
/// length (u32 little-endian), then an LZ4 block of it.
const OUT_LZ4: u8 = b'Z';
/// [`Frame::Input`] compressed, likewise.
const INPUT_LZ4: u8 = b'Y';

/// Bytes shorter than this go as they are (a line's reply: compressing it
/// would cost more than it saves).
pub const COMPRESS_FROM: usize = 4096;

impl Frame {
    fn tag(&self) -> u8 {
        match self {
            Frame::Hello(_) => HELLO,
            Frame::Out(_) => OUT,
            Frame::Err(_) => ERR,
            Frame::Done(_) => DONE,
            Frame::Exit(_) => EXIT,
            Frame::Input(_) => INPUT,
            Frame::EndOfInput => END,
            Frame::Stop(_) => STOP,
        }
    }

    fn payload(&self) -> std::borrow::Cow<'_, [u8]> {
        use std::borrow::Cow;
        match self {
            Frame::Hello(s) => Cow::Borrowed(s.as_bytes()),
            Frame::Out(b) | Frame::Err(b) | Frame::Input(b) => Cow::Borrowed(b),
            Frame::Done(n) => Cow::Owned(n.to_le_bytes().to_vec()),
            Frame::Exit(s) | Frame::Stop(s) => Cow::Owned(s.to_le_bytes().to_vec()),
            Frame::EndOfInput => Cow::Borrowed(&[]),
        }
    }

    /// Write the frame (as several when its payload is longer than
    /// [`MAX_PAYLOAD`]: only byte streams can be).
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let payload = self.payload();
        let tag = self.tag();
        if payload.is_empty() {
            return write_one(w, tag, &[]);
        }
        for chunk in payload.chunks(MAX_PAYLOAD) {
            write_one(w, tag, chunk)?;
        }
        Ok(())
    }

    /// Write the frame as [`Frame::write_to`] does, but output or input of
    /// [`COMPRESS_FROM`] bytes or more compressed when that makes it
    /// smaller (a batch's lines repeat their device and register names: ten
    /// times smaller is usual). It is ssh's encryption and copying of the
    /// bytes, on both sides, that a long batch's remote run spends its time
    /// on; LZ4 costs far less than it saves.
    pub fn write_compact(&self, w: &mut impl Write) -> io::Result<()> {
        let (bytes, packed_tag) = match self {
            Frame::Out(b) => (b, OUT_LZ4),
            Frame::Input(b) => (b, INPUT_LZ4),
            _ => return self.write_to(w),
        };
        if bytes.len() < COMPRESS_FROM {
            return self.write_to(w);
        }
        let tag = self.tag();
        let most = lz4_flex::block::get_maximum_output_size(bytes.len().min(MAX_PAYLOAD));
        let mut packed = vec![0u8; 4 + most];
        for chunk in bytes.chunks(MAX_PAYLOAD) {
            packed[..4].copy_from_slice(&(chunk.len() as u32).to_le_bytes());
            match lz4_flex::block::compress_into(chunk, &mut packed[4..]) {
                Ok(n) if 4 + n < chunk.len() => write_one(w, packed_tag, &packed[..4 + n])?,
                _ => write_one(w, tag, chunk)?,
            }
        }
        Ok(())
    }

    /// Read one frame; `None` at a clean end of the stream (between frames).
    /// A frame that does not decode is an error of kind `InvalidData`.
    pub fn read_from(r: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match read_full(r, &mut head)? {
            0 => return Ok(None),
            5 => {}
            _ => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended inside a frame")),
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(invalid(format!("a frame of {len} bytes (at most {MAX_PAYLOAD})")));
        }
        let mut payload = vec![0u8; len];
        if read_full(r, &mut payload)? != len {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended inside a frame"));
        }
        Frame::decode(head[0], payload).map(Some)
    }

    fn decode(tag: u8, payload: Vec<u8>) -> io::Result<Frame> {
        let int = |p: &[u8], n: usize| -> io::Result<[u8; 8]> {
            if p.len() != n {
                return Err(invalid(format!("a frame '{}' of {} bytes (expected {n})", tag as char, p.len())));
            }
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(p);
            Ok(b)
        };
        Ok(match tag {
            HELLO => Frame::Hello(String::from_utf8(payload).map_err(|_| invalid("a hello that is not UTF-8"))?),
            OUT => Frame::Out(payload),
            OUT_LZ4 => Frame::Out(unpack(&payload)?),
            ERR => Frame::Err(payload),
            INPUT => Frame::Input(payload),
            INPUT_LZ4 => Frame::Input(unpack(&payload)?),
            DONE => Frame::Done(u64::from_le_bytes(int(&payload, 8)?)),
            EXIT => Frame::Exit(i32::from_le_bytes(int(&payload, 4)?[..4].try_into().unwrap_or([0; 4]))),
            STOP => Frame::Stop(i32::from_le_bytes(int(&payload, 4)?[..4].try_into().unwrap_or([0; 4]))),
            END if payload.is_empty() => Frame::EndOfInput,
            other => return Err(invalid(format!("an unknown frame tag {other:#04x}"))),
        })
    }
}

/// The bytes an [`OUT_LZ4`] or [`INPUT_LZ4`] frame holds: at most [`MAX_PAYLOAD`] bytes,
/// exactly as many as it says (memory bounded before anything is made).
fn unpack(payload: &[u8]) -> io::Result<Vec<u8>> {
    let (len, block) =
        payload.split_first_chunk::<4>().ok_or_else(|| invalid("a compressed frame without its length"))?;
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_PAYLOAD {
        return Err(invalid(format!("a compressed frame of {len} bytes (at most {MAX_PAYLOAD})")));
    }
    let mut out = vec![0u8; len];
    match lz4_flex::block::decompress_into(block, &mut out) {
        Ok(n) if n == len => Ok(out),
        Ok(n) => Err(invalid(format!("a compressed frame of {n} bytes, not the {len} it says"))),
        Err(e) => Err(invalid(format!("a compressed frame that does not decode: {e}"))),
    }
}

fn write_one(w: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    // MAX_PAYLOAD fits in u32.
    let len = (payload.len() as u32).to_le_bytes();
    // One write for a small frame (a line's reply), two for a big one.
    if payload.len() <= 4096 {
        let mut frame = [0u8; 5 + 4096];
        frame[0] = tag;
        frame[1..5].copy_from_slice(&len);
        frame[5..5 + payload.len()].copy_from_slice(payload);
        return w.write_all(&frame[..5 + payload.len()]);
    }
    w.write_all(&[tag, len[0], len[1], len[2], len[3]])?;
    w.write_all(payload)
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Read until `buf` is full or the stream ends: the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Hello("mmiodrv 0.1.0".into()),
            Frame::Out(b"line\n".to_vec()),
            Frame::Err(b"mmiodrv: error: x\n".to_vec()),
            Frame::Done(12345),
            Frame::Exit(143),
            Frame::Input(b"read ID\n".to_vec()),
            Frame::EndOfInput,
            Frame::Stop(2),
        ];
        let mut bytes = Vec::new();
        for f in &frames {
            f.write_to(&mut bytes).unwrap();
        }
        let mut r = &bytes[..];
        for f in &frames {
            assert_eq!(Frame::read_from(&mut r).unwrap().as_ref(), Some(f));
        }
        assert_eq!(Frame::read_from(&mut r).unwrap(), None);
    }

    #[test]
    fn long_output_is_split_and_bad_frames_are_errors() {
        let mut bytes = Vec::new();
        Frame::Out(vec![7u8; MAX_PAYLOAD + 3]).write_to(&mut bytes).unwrap();
        let mut r = &bytes[..];
        assert_eq!(Frame::read_from(&mut r).unwrap(), Some(Frame::Out(vec![7u8; MAX_PAYLOAD])));
        assert_eq!(Frame::read_from(&mut r).unwrap(), Some(Frame::Out(vec![7u8; 3])));
        // Too long, unknown, truncated, wrong sizes: errors, never a panic.
        for bad in [
            &[b'O', 0xff, 0xff, 0xff, 0xff][..],
            &[b'?', 0, 0, 0, 0],
            &[b'O', 4, 0, 0, 0, 1],
            &[b'D', 1, 0, 0, 0, 1],
            &[b'X', 0, 0],
            &[b'C', 1, 0, 0, 0, 0],
        ] {
            assert!(Frame::read_from(&mut &bad[..]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_output_goes_compressed_and_comes_back_the_same() {
        let line = b"sim:/tmp/edu.svd BAR0 0x0000 ID = 0x010000ed  MAJOR=0x1 MINOR=0x0 MAGIC=0xed (edu)\n";
        let out: Vec<u8> = line.iter().copied().cycle().take(3 * MAX_PAYLOAD / 2).collect();
        let short = Frame::Out(line.to_vec());
        let mut bytes = Vec::new();
        Frame::Out(out.clone()).write_compact(&mut bytes).unwrap();
        short.write_compact(&mut bytes).unwrap();
        assert!(bytes.len() < out.len() / 20, "{} bytes for {}", bytes.len(), out.len());
        let mut r = &bytes[..];
        let mut back = Vec::new();
        for _ in 0..2 {
            match Frame::read_from(&mut r).unwrap() {
                Some(Frame::Out(b)) => back.extend_from_slice(&b),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, out);
        assert_eq!(Frame::read_from(&mut r).unwrap(), Some(short));
        let script = Frame::Input(b"read ID\n".repeat(10_000));
        let mut bytes = Vec::new();
        script.write_compact(&mut bytes).unwrap();
        assert_eq!(bytes[0], INPUT_LZ4);
        assert_eq!(Frame::read_from(&mut &bytes[..]).unwrap(), Some(script));
        // Bytes that do not compress go as they are.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 56) as u8
            })
            .collect();
        let mut bytes = Vec::new();
        Frame::Out(noise.clone()).write_compact(&mut bytes).unwrap();
        assert_eq!(bytes[0], OUT);
        assert_eq!(Frame::read_from(&mut &bytes[..]).unwrap(), Some(Frame::Out(noise)));
    }

    #[test]
    fn bad_compressed_frames_are_errors() {
        let frame = |payload: &[u8]| {
            let mut b = vec![OUT_LZ4];
            b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            b.extend_from_slice(payload);
            b
        };
        let mut good = Vec::new();
        Frame::Out(vec![b'a'; 10_000]).write_compact(&mut good).unwrap();
        let block = &good[9..];
        let mut says_more = 20_000u32.to_le_bytes().to_vec();
        says_more.extend_from_slice(block);
        let mut too_big = (MAX_PAYLOAD as u32 + 1).to_le_bytes().to_vec();
        too_big.extend_from_slice(block);
        for bad in [frame(&[]), frame(&[1, 0]), frame(&says_more), frame(&too_big), frame(&[16, 0, 0, 0, 0xff, 0xff])] {
            let e = Frame::read_from(&mut &bad[..]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut r = &bytes[..];
            while let Ok(Some(_)) = Frame::read_from(&mut r) {}
        }
    }
}
