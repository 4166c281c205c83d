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
            ERR => Frame::Err(payload),
            INPUT => Frame::Input(payload),
            DONE => Frame::Done(u64::from_le_bytes(int(&payload, 8)?)),
            EXIT => Frame::Exit(i32::from_le_bytes(int(&payload, 4)?[..4].try_into().unwrap_or([0; 4]))),
            STOP => Frame::Stop(i32::from_le_bytes(int(&payload, 4)?[..4].try_into().unwrap_or([0; 4]))),
            END if payload.is_empty() => Frame::EndOfInput,
            other => return Err(invalid(format!("an unknown frame tag {other:#04x}"))),
        })
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

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut r = &bytes[..];
            while let Ok(Some(_)) = Frame::read_from(&mut r) {}
        }
    }
}
