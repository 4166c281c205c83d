//! Paths the other trials leave alone (issue 12, point 8): INTx a second and a
//! third time in one process (the unmask path) under VFIO and UIO, `wait-irq
//! --count` and `--vector` both ways, an I/O-port BAR with real contents read
//! through sysfs and through VFIO's pread/pwrite path (a region without the
//! MMAP flag), and write-combining mappings that succeed and are refused where
//! they must be. Sparse mmap areas, which no lab device has, are unit-tested
//! against a twin of the VFIO calls (src/backend/vfio/region.rs); MSI-X through
//! `wait-irq` is in tests/vm_ivshmem.rs, where a peer rings the doorbell.

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::backends::{bind, reset_edu};
use crate::common::vm::{check, driver_of, fails, ok, sh};
use crate::{EDU, IVSHMEM};

const EDU_BDF: &str = "0000:00:04.0";
const BLK_BDF: &str = "0000:00:08.0";
const BLK: &str = "mmiodrv --device 0000:00:08.0";

/// Put `text` into the guest at `/tmp/NAME` and return that path.
fn script(lab: &mut Lab, name: &str, text: &str) -> Result<String, Failed> {
    let path = format!("/tmp/{name}");
    lab.put_file(&path, text.as_bytes()).map_err(|e| format!("put {path}: {e}"))?;
    Ok(path)
}

/// A batch run that must fail with `code`, naming `file:line` and `msg` in its
/// one stderr line; its stdout (what ran before).
fn batch_fails(lab: &mut Lab, cmd: &str, code: i32, at: &str, msg: &str) -> Result<String, Failed> {
    let o = sh(lab, cmd)?;
    let err = o.stderr_str();
    check(
        o.status == code
            && err.contains(&format!("{at}: "))
            && err.contains(msg)
            && err.trim_end().lines().count() == 1,
        format!(
            "`{cmd}`: expected exit {code} at {at} with {msg:?}; got {}\nstdout:\n{}\nstderr:\n{err}",
            o.status,
            o.stdout_str()
        ),
    )?;
    Ok(o.stdout_str())
}

/// Raise, wait, check, acknowledge, three times: the second and third waits
/// only return if the first unmasked the line again. The script names INTx
/// only on its `arm` line: the batch arms what that line asks for.
const INTX_THREE_TIMES: &str = "\
arm --index intx
write IRQ_RAISE 0x1
wait-irq --timeout 3000
expect IRQ_STATUS 0x1
write IRQ_ACK 0x1
write IRQ_RAISE 0x2
wait-irq --timeout 3000
expect IRQ_STATUS 0x2
write IRQ_ACK 0x2
write IRQ_RAISE 0x4
wait-irq --index intx --timeout 3000
expect IRQ_STATUS 0x4
write IRQ_ACK 0x4
";

/// Not acknowledged, the level is still high when the next wait unmasks: it
/// fires again. Acknowledged, the next wait times out (line 6).
const INTX_LEVEL: &str = "\
write IRQ_RAISE 0x8
wait-irq --index intx --timeout 3000
wait-irq --timeout 3000
write IRQ_ACK 0x8
echo acknowledged
wait-irq --timeout 300
";

pub fn intx_three_times_in_one_process(lab: &mut Lab) -> Result<(), Failed> {
    let three = script(lab, "intx-three.txt", INTX_THREE_TIMES)?;
    let level = script(lab, "intx-level.txt", INTX_LEVEL)?;
    reset_edu(lab)?;
    for (driver, backend) in [("vfio-pci", "vfio"), ("uio_pci_generic", "uio")] {
        bind(lab, EDU_BDF, driver)?;
        let out = ok(lab, &format!("{EDU} --backend {backend} batch {three}"))?;
        let fired: Vec<&str> = out.lines().filter(|l| l.contains("fired")).collect();
        check(
            fired == ["0000:00:04.0: INTx vector 0 fired (1 event(s))"; 3],
            format!("{backend}: three INTx in one process:\n{out}"),
        )?;
        let json = ok(lab, &format!("{EDU} --backend {backend} --json batch {three}"))?;
        let events: Vec<serde_json::Value> = json
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get("interrupts").cloned())
            .collect();
        check(
            events.len() == 3 && events.iter().all(|e| e[0]["kind"] == "intx" && e[0]["vector"] == 0),
            format!("{backend}: JSON:\n{json}"),
        )?;
        let out = batch_fails(
            lab,
            &format!("{EDU} --backend {backend} batch {level}"),
            8,
            &format!("{level}:6"),
            "timed out after 300 ms waiting for INTx",
        )?;
        check(
            out.lines().filter(|l| l.contains("INTx vector 0 fired")).count() == 2 && out.contains("acknowledged\n"),
            format!("{backend}: an unacknowledged level fires again, an acknowledged one does not:\n{out}"),
        )?;
        check(ok(lab, &format!("{EDU} --backend {backend} read IRQ_STATUS --quiet"))? == "0x00000000\n", "acked")?;
    }
    bind(lab, EDU_BDF, "none")
}

pub fn wait_irq_count_and_vector(lab: &mut Lab) -> Result<(), Failed> {
    // Two MSIs raised before the wait: the eventfd adds them up, one wake-up
    // of count 2, and `--count 2` is satisfied by it.
    let two = script(
        lab,
        "msi-two.txt",
        "write IRQ_RAISE 0x1\nwrite IRQ_RAISE 0x2\nwait-irq --index msi --vector 0 --count 2 --timeout 3000\nexpect IRQ_STATUS 0x3\nwrite IRQ_ACK 0x3\n",
    )?;
    let three = script(
        lab,
        "msi-three.txt",
        "write IRQ_RAISE 0x1\nwrite IRQ_RAISE 0x2\nwait-irq --count 3 --vector 0 --timeout 500\n",
    )?;
    let bad_vector = script(lab, "msi-bad-vector.txt", "write IRQ_RAISE 0x40\nwait-irq --index msi --vector 1\n")?;
    let two_kinds =
        script(lab, "two-kinds.txt", "write IRQ_RAISE 0x40\nwait-irq --index msi\nwait-irq --index intx\n")?;
    reset_edu(lab)?;
    bind(lab, EDU_BDF, "vfio-pci")?;
    let json = ok(lab, &format!("{EDU} --json batch {two}"))?;
    let counts: Vec<u64> = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("interrupts").and_then(|i| i.as_array()).cloned())
        .flatten()
        .map(|e| if e["kind"] == "msi" && e["vector"] == 0 { e["count"].as_u64().unwrap_or(0) } else { 99 })
        .collect();
    check(counts.iter().sum::<u64>() == 2, format!("two MSIs counted once each: {counts:?}\n{json}"))?;
    // A count not reached times out, naming the whole wait and what came.
    let out = batch_fails(
        lab,
        &format!("{EDU} batch {three}"),
        8,
        &format!("{three}:3"),
        "timed out after 500 ms waiting for 3 interrupts on MSI vector 0 (1 vector(s) armed), 2 came",
    )?;
    check(out.contains("IRQ_RAISE"), out)?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x3"))?;
    // A vector or a second mechanism the run cannot have: refused once armed,
    // before line 1 raises anything.
    batch_fails(
        lab,
        &format!("{EDU} batch {bad_vector}"),
        2,
        &format!("{bad_vector}:2"),
        "MSI has 1 vector(s); there is no vector 1",
    )?;
    batch_fails(
        lab,
        &format!("{EDU} batch {two_kinds}"),
        2,
        &format!("{two_kinds}:3"),
        "MSI interrupts are armed in this session",
    )?;
    check(ok(lab, &format!("{EDU} read IRQ_STATUS --quiet"))? == "0x00000000\n", "nothing was raised")?;
    // One-shot: the vector that exists fires; counts and vectors that cannot be.
    let out = ok(lab, &format!("{EDU} write IRQ_RAISE 0x1 --wait-irq --index msi --vector 0 --timeout 3000"))?;
    check(out.contains("MSI vector 0 fired"), out)?;
    ok(lab, &format!("{EDU} write IRQ_ACK 0x1"))?;
    fails(
        lab,
        &format!("{EDU} wait-irq --index msi --count 2 --timeout 300"),
        8,
        "timed out after 300 ms waiting for 2 interrupts on MSI (1 vector(s)), 0 came",
    )?;
    fails(lab, &format!("{EDU} wait-irq --count 0"), 2, "invalid value '0': wait for at least one interrupt")?;
    fails(lab, &format!("{EDU} wait-irq --index intx --vector 1"), 2, "INTx has 1 vector(s); there is no vector 1")?;
    bind(lab, EDU_BDF, "none")
}

/// The legacy virtio header of the lab's transitional virtio-blk is its BAR0,
/// 128 I/O ports: a BAR with contents the kernel also knows (the disk's
/// capacity, in sectors, at 0x14 once MSI-X is off), reached by pread/pwrite of
/// `resource0` through sysfs and of the device fd through VFIO, whose region
/// for an I/O BAR has no MMAP flag. (The e1000 trial reads e1000's I/O BAR
/// through sysfs; QEMU implements that one as a stub that reads 0.)
pub fn io_port_bar_through_sysfs_and_vfio(lab: &mut Lab) -> Result<(), Failed> {
    check(driver_of(lab, BLK_BDF)? == "virtio-pci", "virtio-blk starts under virtio-pci")?;
    let disk = ok(lab, &format!("ls /sys/bus/pci/devices/{BLK_BDF}/virtio*/block"))?.trim().to_string();
    let sectors: u64 =
        ok(lab, &format!("cat /sys/block/{disk}/size"))?.trim().parse().map_err(|e| format!("{disk} size: {e}"))?;
    let info = ok(lab, &format!("{BLK} info"))?;
    check(info.contains("Region 0: I/O ports at") && info.contains("[size=128]"), info)?;
    ok(lab, &format!("{BLK} unbind"))?;
    let result = (|| {
        for backend in ["sysfs", "vfio"] {
            if backend == "vfio" {
                bind(lab, BLK_BDF, "vfio-pci")?;
            }
            let b = format!("{BLK} --backend {backend}");
            let cap = ok(lab, &format!("{b} read 0x14 --bar 0 --width 32 --quiet"))?;
            check(
                cap == format!("{sectors:#010x}\n"),
                format!("{backend}: capacity {cap:?}, the kernel said {sectors}"),
            )?;
            let high = ok(lab, &format!("{b} read 0x18 --bar 0 --width 32 --quiet"))?;
            check(high == "0x00000000\n", format!("{backend}: capacity high half {high:?}"))?;
            // Queue select (16-bit, read-write) round-trips; queue 0 has a size.
            ok(lab, &format!("{b} write 0xe 0x0 --bar 0 --width 16 --verify"))?;
            let qsize = ok(lab, &format!("{b} read 0xc --bar 0 --width 16 --quiet"))?;
            check(qsize != "0x0000\n" && qsize.starts_with("0x"), format!("{backend}: queue 0 size {qsize:?}"))?;
            // Device status, 8 bits: 0 resets the device, 1 is ACKNOWLEDGE
            // (what virtio-pci's remove leaves).
            for status in ["0x00", "0x01"] {
                ok(lab, &format!("{b} write 0x12 {status} --bar 0 --width 8"))?;
                let read = ok(lab, &format!("{b} read 0x12 --bar 0 --width 8 --quiet"))?;
                check(read == format!("{status}\n"), format!("{backend}: device status {read:?}, wrote {status}"))?;
            }
            // One access of the width or none: port I/O has no 64-bit access.
            fails(lab, &format!("{b} read 0x10 --bar 0 --width 64"), 6, "takes no 64-bit accesses")?;
            let wc = if backend == "vfio" {
                "the vfio backend has no write-combining"
            } else {
                "BAR0 has no write-combining"
            };
            fails(lab, &format!("{b} read 0x0 --bar 0 --wc"), 6, wc)?;
        }
        Ok::<(), Failed>(())
    })();
    ok(lab, &format!("{BLK} bind --restore"))?;
    check(driver_of(lab, BLK_BDF)? == "virtio-pci", "virtio-pci is back")?;
    result?;
    let back = ok(lab, &format!("cat /sys/block/{disk}/size"))?;
    check(back.trim() == sectors.to_string(), format!("the disk is back with {back}"))
}

/// ivshmem-plain's BAR2 is 64-bit prefetchable, so sysfs has `resource2_wc`:
/// `--wc` maps it write-combining, and what goes through it lands in the host
/// file. Non-prefetchable BARs and other backends refuse `--wc`.
pub fn write_combining_mapping(lab: &mut Lab) -> Result<(), Failed> {
    use std::os::unix::fs::FileExt;
    bind(lab, "0000:00:05.0", "none")?;
    let info = ok(lab, &format!("{IVSHMEM} info"))?;
    check(info.contains("Region 2: Memory at") && info.contains("(64-bit, prefetchable) [size=1M]"), info)?;
    ok(lab, "test -e /sys/bus/pci/devices/0000:00:05.0/resource2_wc")?;
    let shm = std::fs::OpenOptions::new().read(true).write(true).open(lab.shm_path()).map_err(|e| e.to_string())?;
    ok(lab, &format!("{IVSHMEM} write 0x7000 0x1122334455667788 --bar 2 --width 64 --wc"))?;
    let mut b = [0u8; 8];
    shm.read_exact_at(&mut b, 0x7000).map_err(|e| e.to_string())?;
    check(u64::from_le_bytes(b) == 0x1122_3344_5566_7788, format!("host file after a --wc write: {b:02x?}"))?;
    shm.write_all_at(&0x0bad_cafe_u32.to_le_bytes(), 0x7010).map_err(|e| e.to_string())?;
    let read = ok(lab, &format!("{IVSHMEM} read 0x7010 --bar 2 --wc --quiet"))?;
    check(read == "0x0badcafe\n", format!("--wc read of a host write: {read:?}"))?;
    let json = ok(lab, &format!("{IVSHMEM} read 0x7000 --bar 2 --width 64 --wc --json"))?;
    check(json.contains("\"value\":1234605616436508552"), json)?;
    fails(lab, &format!("{IVSHMEM} read 0x0 --bar 0 --wc"), 6, "BAR0 has no write-combining mapping")?;
    bind(lab, "0000:00:05.0", "vfio-pci")?;
    fails(lab, &format!("{IVSHMEM} read 0x0 --bar 2 --wc"), 6, "the vfio backend has no write-combining mapping")?;
    bind(lab, "0000:00:05.0", "none")
}
