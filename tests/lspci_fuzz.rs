//! Differential test against the host's lspci on made-up config spaces:
//! random bytes shaped into capability lists (every standard and extended
//! ID, random bodies, loops, truncated dumps, every port type, virtio and CXL
//! vendors), written as an `lspci -xxxx` dump, decoded by `lspci -F` and by
//! `mmiodrv::pci::lspci` at -v, -vv and -vvv; every capability block must be
//! identical. Reaches the branches pciutils' own dumps do not.
//!
//! Devices whose decoding makes lspci itself fail (it stops with "Internal
//! bug" when a decoder reads bytes it did not ask for) are counted and left
//! out. Where lspci 3.9.0's C is undefined (CXL range tables indexed past
//! their end; a CXL function map or flex bus shorter than the registers it
//! reads, an EA entry shorter than its upper base/offset: reads past lspci's
//! buffer), it prints memory contents that cannot be reproduced: the
//! generator keeps those fields in range. `MMIODRV_LSPCI_FUZZ_DEVICES=N` (default 200) and
//! `MMIODRV_LSPCI_FUZZ_SEED=S` choose the run. Skipped without lspci.

use std::fmt::Write as _;
use std::process::{Command, ExitCode};

use mmiodrv::pci::lspci::{self, Options};

mod lspci_split;
use lspci_split::{ids, split_lspci};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A made-up function: config space and where it sits (device, function).
fn make_device(rng: &mut Rng) -> (Vec<u8>, u8, u8) {
    let mut c: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    // Mostly zeroed bodies look like real devices (and reach "Not Supported"
    // branches); mostly random ones reach the others.
    if rng.chance(40) {
        for b in c.iter_mut().skip(0x40) {
            if rng.chance(70) {
                *b = 0;
            }
        }
    }
    let header = match rng.below(20) {
        0 => 2,
        1 => 3,
        2..=8 => 1,
        _ => 0,
    };
    c[0x0e] = header | if rng.chance(30) { 0x80 } else { 0 };
    if rng.chance(15) {
        c[0..4].copy_from_slice(&[0xf4, 0x1a, rng.below(0x80) as u8, 0x10]);
    }
    c[0x06] |= 0x10;
    if rng.chance(3) {
        c[0x06] &= !0x10;
    }
    // Standard list.
    let mut at = 0x40 + 4 * rng.below(8) as usize;
    let pointer = if header == 2 { 0x14 } else { 0x34 };
    c[pointer] = at as u8 | rng.below(4) as u8;
    let count = 1 + rng.below(7);
    let express_first = rng.chance(70);
    for i in 0..count {
        let id = if i == 0 && express_first {
            0x10
        } else if rng.chance(3) {
            0xff
        } else {
            rng.below(0x17) as u8
        };
        let next = if i + 1 == count {
            if rng.chance(5) {
                0x40
            } else {
                0
            }
        } else {
            (at + 16 + 4 * rng.below(6) as usize).min(0xfc)
        };
        c[at] = id;
        c[at + 1] = next as u8;
        if id == 0x10 {
            // A sensible port type most of the time.
            let kind = [0u8, 1, 4, 5, 6, 7, 8, 9, 10, 3][rng.below(10) as usize];
            c[at + 2] = (kind << 4) | rng.below(4) as u8;
        }
        if id == 0x14 {
            // lspci reads an EA entry's upper base and offset past the entry
            // when its size says it has none (undefined when that is past
            // lspci's buffer): entries get a size that holds them.
            let mut entry = at + if header == 1 { 8 } else { 4 };
            for _ in 0..(c[at + 2] & 0x3f) {
                if entry + 4 > c.len() {
                    break;
                }
                c[entry] = (c[entry] & !7) | (4 + rng.below(4) as u8);
                entry += 4 + 4 * usize::from(c[entry] & 7);
            }
        }
        if next == 0 || next <= at {
            break;
        }
        at = next;
    }
    // Extended list.
    let mut at = 0x100;
    let count = rng.below(9);
    for i in 0..count {
        let id: u32 = match rng.below(10) {
            0 => 0x23,
            1 => rng.below(0x10000) as u32,
            _ => rng.below(0x31) as u32,
        };
        let next: u32 = if i + 1 == count {
            if rng.chance(5) {
                0x100
            } else {
                0
            }
        } else {
            ((at + 0x10 + 4 * rng.below(40)) as u32).min(0xffc)
        };
        let header = id | ((rng.below(16) as u32) << 16) | (next << 20);
        c[at as usize..at as usize + 4].copy_from_slice(&header.to_le_bytes());
        if id == 0x23 && rng.chance(70) {
            // A CXL DVSEC with one of its IDs. lspci 3.9.0 reads the function
            // map (ID 2) and flex bus (ID 7) registers whatever the length
            // says, past what it fetched (undefined, see lspci_fuzz's header):
            // those two get the length they need.
            let cxl_id = rng.below(11) as u32;
            let mut len = [0x38u32, 0x2c, 0x28, 0x10, 0x20, 0x24, 0x14][rng.below(7) as usize];
            match cxl_id {
                2 => len = len.max(0x2c),
                7 => len = len.max(0x20),
                _ => {}
            }
            let dvsec = 0x1e98 | ((rng.below(4) as u32) << 16) | (len << 20);
            c[at as usize + 4..at as usize + 8].copy_from_slice(&dvsec.to_le_bytes());
            c[at as usize + 8] = cxl_id as u8;
            c[at as usize + 9] = 0;
        }
        if id == 0x23 {
            // lspci 3.9.0 indexes its CXL range tables without a bound (it
            // prints stack contents past their ends): keep Type, Class and
            // Interleave inside them.
            for size_low in [at as usize + 0x1c, at as usize + 0x2c] {
                let w = u16::from_le_bytes([c[size_low], c[size_low + 1]]);
                let kind = ((w >> 2) & 7) % 3;
                let class = ((w >> 5) & 7) % 3;
                let w = (w & !0x1ffc) | (kind << 2) | (class << 5) | (((w >> 8) & 7) << 8);
                c[size_low..size_low + 2].copy_from_slice(&w.to_le_bytes());
            }
        }
        if next == 0 || u64::from(next) <= at {
            break;
        }
        at = u64::from(next);
    }
    let len = match rng.below(20) {
        0 => 64,
        1 => 256,
        2 => 0x40 + rng.below(4096 - 0x40) as usize,
        _ => 4096,
    };
    c.truncate(len);
    (c, rng.below(32) as u8, rng.below(8) as u8)
}

/// The device as `lspci -xxxx` prints it.
fn dump(config: &[u8], device: u8, function: u8) -> String {
    let mut s = format!("00:{device:02x}.{function} Made-up device\n");
    for (row, chunk) in config.chunks(16).enumerate() {
        let _ = write!(s, "{:02x}:", row * 16);
        for b in chunk {
            let _ = write!(s, " {b:02x}");
        }
        s.push('\n');
    }
    s.push('\n');
    s
}

/// A made-up VPD image: resources (product name, read-only and read/write
/// fields with known and unknown keywords, good and bad checksums, unknown
/// tags), an end tag or not, truncated or not.
fn make_vpd(rng: &mut Rng) -> Vec<u8> {
    const KEYWORDS: &[&[u8; 2]] = &[
        b"PN", b"EC", b"MN", b"SN", b"RV", b"RW", b"V1", b"VZ", b"YA", b"Y3", b"CC", b"FC", b"FN", b"NA", b"RM", b"Z7",
        b"CP", b"XX", b"\\\x01",
    ];
    let mut v = Vec::new();
    if rng.chance(5) {
        return (0..rng.below(64)).map(|_| rng.next() as u8).collect();
    }
    for _ in 0..rng.below(6) {
        match rng.below(10) {
            0..=2 => {
                let limit = if rng.chance(10) { 400 } else { 40 };
                let len = rng.below(limit) as usize;
                v.extend([0x82, len as u8, (len >> 8) as u8]);
                v.extend((0..len).map(|_| match rng.below(10) {
                    0 => rng.next() as u8,
                    1 => b'\\',
                    _ => b' ' + rng.below(95) as u8,
                }));
            }
            3..=7 => {
                let mut body = Vec::new();
                for _ in 0..rng.below(8) {
                    let key = KEYWORDS[rng.below(KEYWORDS.len() as u64) as usize];
                    let limit = if rng.chance(5) { 256 } else { 16 };
                    let len = rng.below(limit) as usize;
                    body.extend([key[0], key[1], len as u8]);
                    body.extend((0..len).map(|_| {
                        if rng.chance(80) {
                            b'A' + rng.below(26) as u8
                        } else {
                            rng.next() as u8
                        }
                    }));
                }
                let tag = if rng.chance(60) { 0x90 } else { 0x91 };
                let good = tag == 0x90 && rng.chance(50);
                let junk = if rng.chance(20) { rng.below(8) as usize } else { 0 };
                let len = body.len() + if good { 4 } else { 0 } + junk;
                v.extend([tag, len as u8, (len >> 8) as u8]);
                v.extend(body);
                if good {
                    // A good checksum: every byte so far and RV's first byte sum to 0.
                    v.extend(*b"RV\x01");
                    let sum = v.iter().fold(0u8, |s, b| s.wrapping_add(*b));
                    v.push(0u8.wrapping_sub(sum));
                }
            }
            8 => v.push(rng.next() as u8 & 0x7f),
            _ => v.extend([0x80 | rng.next() as u8, rng.below(8) as u8, 0]),
        }
    }
    if rng.chance(70) {
        v.push(0x78);
    }
    if rng.chance(15) {
        v.truncate(rng.below(v.len() as u64 + 1) as usize);
    }
    v
}

/// A fake sysfs tree with one device whose only capability is VPD, in
/// domain ffff (no machine has it, so no real device is named).
fn fake_sysfs(root: &std::path::Path, vpd: &[u8]) {
    let dev = root.join("devices/ffff:00:01.0");
    std::fs::create_dir_all(&dev).expect("fake sysfs");
    let mut config = vec![0u8; 256];
    config[..4].copy_from_slice(&[0x86, 0x80, 0x34, 0x12]);
    config[0x06] = 0x10;
    config[0x0b] = 0x02;
    config[0x34] = 0x40;
    config[0x40] = 0x03;
    let files: &[(&str, &[u8])] = &[
        ("config", &config),
        ("vpd", vpd),
        ("vendor", b"0x8086\n"),
        ("device", b"0x1234\n"),
        ("class", b"0x020000\n"),
        ("irq", b"0\n"),
        ("revision", b"0x00\n"),
        ("subsystem_vendor", b"0x0000\n"),
        ("subsystem_device", b"0x0000\n"),
        ("resource", &b"0x0000000000000000 0x0000000000000000 0x0000000000000000\n".repeat(7)),
    ];
    for (name, bytes) in files {
        std::fs::write(dev.join(name), bytes).expect("fake sysfs file");
    }
}

/// VPD images through lspci's sysfs access (a fake tree: its dumps carry no
/// VPD) and through the decoder: the VPD blocks must be identical.
fn vpd_phase(rng: &mut Rng, images: u64, dir: &std::path::Path) -> (usize, usize, Vec<String>) {
    let (mut identical, mut total, mut differing) = (0, 0, Vec::new());
    for n in 0..images {
        let vpd = make_vpd(rng);
        let root = dir.join(format!("sysfs{n}"));
        fake_sysfs(&root, &vpd);
        for verbosity in 1..=3u8 {
            let out = Command::new("lspci")
                .args(["-A", "linux-sysfs", "-O"])
                .arg(format!("sysfs.path={}", root.display()))
                .arg(format!("-{}", "v".repeat(usize::from(verbosity))))
                .env("LC_ALL", "C")
                .output()
                .expect("run lspci");
            // lspci writes VPD strings' bytes as they are: read its output as
            // Latin-1, as the decoder renders those bytes.
            let text: String = out.stdout.iter().map(|b| char::from(*b)).collect();
            let theirs = split_lspci(&text);
            let block = theirs.first().and_then(|d| d.blocks.first()).cloned().unwrap_or_default();
            let opts = Options { vpd: Some(&vpd), ..Options::default().with_verbosity(verbosity) };
            let mut config = vec![0u8; 256];
            config[0x06] = 0x10;
            config[0x34] = 0x40;
            config[0x40] = 0x03;
            let ours = lspci::decode(&config, &opts).into_iter().next().map(|b| b.lines).unwrap_or_default();
            total += 1;
            if ours == block {
                identical += 1;
            } else {
                let k = block.iter().zip(&ours).take_while(|(a, b)| a == b).count();
                differing.push(format!(
                    "VPD image {n} (-v{verbosity}, {} bytes): line {}\n      lspci:   {:?}\n      mmiodrv: {:?}",
                    vpd.len(),
                    k + 1,
                    block.get(k),
                    ours.get(k)
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    (identical, total, differing)
}

fn main() -> ExitCode {
    if Command::new("lspci").arg("--version").output().is_err() {
        println!("lspci_fuzz: SKIPPED: lspci is not installed");
        return ExitCode::SUCCESS;
    }
    let devices: u64 = std::env::var("MMIODRV_LSPCI_FUZZ_DEVICES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let seed: u64 = std::env::var("MMIODRV_LSPCI_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let (ids, ids_path) = ids();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("dump");
    // splitmix64 of the seed: nearby seeds give unrelated runs.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let mut rng = Rng((z ^ (z >> 31)) | 1);
    let mut failures: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut identical, mut total, mut skipped) = (0usize, 0usize, 0usize);
    let mut differing = Vec::new();
    for n in 0..devices {
        let (config, device, function) = make_device(&mut rng);
        std::fs::write(&file, dump(&config, device, function)).expect("write dump");
        for verbosity in 1..=3u8 {
            let mut cmd = Command::new("lspci");
            cmd.arg("-F").arg(&file).arg(format!("-{}", "v".repeat(usize::from(verbosity))));
            if let Some(p) = &ids_path {
                cmd.arg("-i").arg(p);
            }
            let out = cmd.env("LC_ALL", "C").output().expect("run lspci");
            // lspci stops on an internal error (a decoder reading bytes it
            // did not ask for); a warning (a 64-bit BAR in the last slot)
            // still prints everything.
            if String::from_utf8_lossy(&out.stderr).contains("Internal bug") {
                skipped += 1;
                let why = String::from_utf8_lossy(&out.stderr);
                let why = why.lines().find(|l| l.contains("Internal bug")).unwrap_or("(no message)");
                let why = why.split(" at position").next().unwrap_or(why).to_string();
                *failures.entry(why).or_default() += 1;
                continue;
            }
            let theirs = split_lspci(&String::from_utf8_lossy(&out.stdout));
            let Some(dev) = theirs.first() else {
                skipped += 1;
                continue;
            };
            let opts = Options::default().with_verbosity(verbosity).with_ids(&ids).at(device, function);
            let ours: Vec<Vec<String>> = lspci::decode(&config, &opts).into_iter().map(|b| b.lines).collect();
            for (j, block) in dev.blocks.iter().enumerate() {
                total += 1;
                let other = ours.get(j).map(Vec::as_slice).unwrap_or(&[]);
                if other == block.as_slice() {
                    identical += 1;
                    continue;
                }
                let k = block.iter().zip(other).take_while(|(a, b)| a == b).count();
                if let Some(keep) = std::env::var_os("MMIODRV_LSPCI_FUZZ_KEEP") {
                    let _ = std::fs::create_dir_all(&keep);
                    let _ = std::fs::copy(&file, std::path::Path::new(&keep).join(format!("device-{n}")));
                }
                differing.push(format!(
                    "device {n} (seed {seed}, -{}): block {j} line {}\n      lspci:   {:?}\n      mmiodrv: {:?}",
                    "v".repeat(usize::from(verbosity)),
                    k + 1,
                    block.get(k),
                    other.get(k)
                ));
            }
            if ours.len() > dev.blocks.len() {
                total += 1;
                differing.push(format!("device {n} (seed {seed}, -v{verbosity}): mmiodrv prints more blocks"));
            }
        }
    }
    let images = devices / 2;
    let (vpd_same, vpd_total, vpd_differing) = vpd_phase(&mut rng, images, dir.path());
    identical += vpd_same;
    total += vpd_total;
    differing.extend(vpd_differing);
    println!(
        "lspci_fuzz: VPD: {vpd_same}/{vpd_total} blocks identical over {images} made-up VPD images x 3 verbosities"
    );
    for line in differing.iter().take(40) {
        println!("  DIFFERS {line}");
    }
    for (why, count) in &failures {
        println!("  lspci failed {count} time(s): {why}");
    }
    println!(
        "lspci_fuzz: {identical}/{total} blocks identical over {devices} made-up devices x 3 verbosities \
         (seed {seed}); {skipped} lspci runs failed and were left out"
    );
    if identical == total {
        ExitCode::SUCCESS
    } else {
        println!("lspci_fuzz: FAILED");
        ExitCode::FAILURE
    }
}
