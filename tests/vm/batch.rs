//! Scripts on the real edu device (issue 13): under VFIO a script arms MSI,
//! raises and waits for the interrupt and acknowledges it, and drives a DMA
//! round trip through a buffer it allocated; a bad last line leaves every
//! register as it was; --keep-going; JSON lines equal to the one-shot JSON;
//! a shell script driving one mmiodrv process through a pipe, line by line.
//! (The shell under a pty and the Python client: tests/cli_batch.rs.)

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::backends::{bind, reset_edu};
use crate::common::vm::{check, fails, ok, sh};
use crate::EDU;

fn put_script(lab: &mut Lab, path: &str, lines: &[&str]) -> Result<(), Failed> {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    lab.put_file(path, text.as_bytes()).map_err(|e| Failed::from(format!("put {path}: {e}")))
}

pub fn vfio_script_raises_waits_and_acks(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    put_script(
        lab,
        "/tmp/irq.txt",
        &[
            "# armed before line 1: the script waits for an interrupt",
            "expect ID.MAGIC 0xed",
            "write IRQ_RAISE 0x5",
            "wait-irq --timeout 3000",
            "expect IRQ_STATUS 0x5",
            "write IRQ_ACK 0x5",
            "expect IRQ_STATUS 0",
        ],
    )?;
    let out = ok(lab, &format!("{EDU} batch /tmp/irq.txt"))?;
    let expected = "0000:00:04.0 BAR0 0x0000 ID.MAGIC == 0xed as expected\n\
                    0000:00:04.0 BAR0 0x0060 IRQ_RAISE <- 0x00000005\n\
                    0000:00:04.0: MSI vector 0 fired (1 event(s))\n\
                    0000:00:04.0 BAR0 0x0024 IRQ_STATUS == 0x00000005 as expected\n\
                    0000:00:04.0 BAR0 0x0064 IRQ_ACK <- 0x00000005\n\
                    0000:00:04.0 BAR0 0x0024 IRQ_STATUS == 0x00000000 as expected\n";
    check(out == expected, format!("got:\n{out}"))?;
    // Without the raise, the wait times out with its own status, naming the line.
    put_script(lab, "/tmp/noirq.txt", &["wait-irq --timeout 200"])?;
    fails(lab, &format!("{EDU} batch /tmp/noirq.txt"), 8, "/tmp/noirq.txt:1: 0000:00:04.0: timed out after 200 ms")?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn dma_round_trip_from_a_script(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    let text = "mmiodrv batch DMA";
    let quoted = format!("dma write 0 --string '{text}'");
    let count = format!("write DMA_COUNT {}", text.len());
    let read = format!("dma read 0x800 {}", text.len());
    put_script(
        lab,
        "/tmp/dma.txt",
        &[
            "dma alloc 4K --mask-bits 28",
            &quoted,
            "# RAM -> device buffer (0x40000), then back into RAM at buffer offset 0x800",
            "write DMA_SRC 0x200000",
            "write DMA_DST 0x40000",
            &count,
            "write DMA_CMD 0x1",
            "poll DMA_CMD.START 0 --timeout 3000",
            "write DMA_SRC 0x40000",
            "write DMA_DST 0x200800",
            &count,
            "write DMA_CMD 0x3",
            "poll DMA_CMD.START 0 --timeout 3000",
            &read,
        ],
    )?;
    let out = ok(lab, &format!("{EDU} --json batch /tmp/dma.txt"))?;
    let lines: Vec<serde_json::Value> =
        out.lines().map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| format!("{e}: {out}"))?;
    check(lines.len() == 13, format!("one object per operation: {out}"))?;
    // The first free IOVA from 2 MiB up (drivers' own commands map theirs at 1 MiB).
    let first = &lines[0];
    check(
        first["op"] == "dma alloc" && first["iova"] == 0x20_0000 && first["len"] == 4096,
        format!("buffer: {first}"),
    )?;
    let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
    let last = &lines[12];
    let want = last["op"] == "dma read" && last["hex"] == hex.as_str() && last["iova"] == 0x20_0000;
    check(want && last["offset"] == 0x800, format!("{last}"))?;
    // The text form of the same read: a hexdump at the buffer's IOVA.
    put_script(
        lab,
        "/tmp/dma-text.txt",
        &["dma alloc 4K --mask-bits 28", "dma write 0x10 --hex 'de ad be ef'", "dma read 0x10 4"],
    )?;
    let out = ok(lab, &format!("{EDU} batch /tmp/dma-text.txt"))?;
    check(
        out == "0000:00:04.0: DMA buffer 0: IOVA 0x200000, 4096 bytes\n\
                0000:00:04.0: 4 bytes into DMA buffer 0 at 0x10\n\
                00200010  de ad be ef                                      |....|\n",
        format!("got:\n{out}"),
    )?;
    bind(lab, "0000:00:04.0", "none")
}

pub fn a_bad_last_line_touches_nothing(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    ok(lab, &format!("{EDU} write LIVENESS 0x0 && {EDU} write FACTORIAL 0x3 && {EDU} write DMA_SRC 0x0"))?;
    // Let the factorial finish, so the dump before is stable.
    ok(lab, &format!("echo 'poll STATUS.COMPUTING 0' | {EDU} batch -"))?;
    let before = ok(lab, &format!("{EDU} dump-regs"))?;
    for (bad, code, msg) in [
        ("write LIVENESS 0x100000000", 2, "/tmp/bad.txt:5: 0000:00:04.0: value 0x100000000"),
        ("write ID 0x1", 2, "/tmp/bad.txt:5: 0000:00:04.0: register ID is read-only"),
        ("read 0x2", 2, "/tmp/bad.txt:5: 0000:00:04.0: "),
        ("wriet LIVENESS 1", 2, "/tmp/bad.txt:5: unrecognized subcommand 'wriet'"),
    ] {
        put_script(
            lab,
            "/tmp/bad.txt",
            &["write LIVENESS 0x1234", "write FACTORIAL 5", "write STATUS.IRQ_FACT 1", "write DMA_SRC 0x1000", bad],
        )?;
        let err = fails(lab, &format!("{EDU} batch /tmp/bad.txt"), code, msg)?;
        let after = ok(lab, &format!("{EDU} dump-regs"))?;
        check(after == before, format!("{bad}: {err}registers changed:\n{before}---\n{after}"))?;
    }
    Ok(())
}

pub fn keep_going_runs_the_rest(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    ok(lab, &format!("{EDU} write LIVENESS 0x0"))?;
    put_script(lab, "/tmp/kg.txt", &["expect ID 0x0", "write LIVENESS 0x42"])?;
    fails(
        lab,
        &format!("{EDU} batch /tmp/kg.txt"),
        6,
        "/tmp/kg.txt:1: 0000:00:04.0: ID reads 0x10000ed, expected 0x0",
    )?;
    check(ok(lab, &format!("{EDU} read LIVENESS -q"))? == "0xffffffff\n", "line 2 ran without --keep-going")?;
    let o = sh(lab, &format!("{EDU} batch --keep-going /tmp/kg.txt"))?;
    check(o.status == 6, format!("--keep-going: exit {}: {}", o.status, o.stderr_str()))?;
    check(o.stdout_str() == "0000:00:04.0 BAR0 0x0004 LIVENESS <- 0x00000042\n", o.stdout_str())?;
    check(ok(lab, &format!("{EDU} read LIVENESS -q"))? == "0xffffffbd\n", "line 2 ran with --keep-going")
}

pub fn json_lines_equal_the_one_shot_json(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    let ops = [
        "read ID",
        "read ID.MAJOR",
        "write LIVENESS 0x5",
        "read LIVENESS",
        "read 0x4",
        "write STATUS.IRQ_FACT 1",
        "read STATUS",
        "write STATUS 0",
        "read DMA_CMD",
        "read 0x80 --width 64",
    ];
    let mut one_shot = Vec::new();
    for op in ops {
        let out = ok(lab, &format!("{EDU} --json {op}"))?;
        one_shot.push(serde_json::from_str::<serde_json::Value>(out.trim()).map_err(|e| format!("{op}: {out}: {e}"))?);
    }
    put_script(lab, "/tmp/json.txt", &ops)?;
    let out = ok(lab, &format!("{EDU} --json batch /tmp/json.txt"))?;
    let batch: Vec<serde_json::Value> =
        out.lines().map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| format!("{e}: {out}"))?;
    check(batch.len() == ops.len(), format!("{} lines for {} operations", batch.len(), ops.len()))?;
    for ((op, a), b) in ops.iter().zip(&one_shot).zip(&batch) {
        check(a == b, format!("{op}: one-shot {a} batch {b}"))?;
    }
    Ok(())
}

/// A busybox shell script holds one mmiodrv process on two FIFOs and reads
/// each reply before it sends the next line (were a reply not flushed, `read
/// -t` would time out): under VFIO, arm on one line, raise on the next, wait
/// on a third, which one-shot commands cannot do (the group opens once).
pub fn a_pipe_session_under_vfio(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, "0000:00:04.0", "vfio-pci")?;
    let script = format!(
        r#"set -e
rm -f /tmp/to /tmp/from; mkfifo /tmp/to /tmp/from
{EDU} batch - </tmp/to >/tmp/from 2>/tmp/pipe.err &
exec 3>/tmp/to 4</tmp/from
ask() {{ echo "$1" >&3; read -t 5 -r reply <&4 || {{ echo "no reply to: $1"; exit 1; }}; echo "$reply"; }}
ask 'arm --index msi'
ask 'write IRQ_RAISE 0x8'
ask 'wait-irq --timeout 3000'
ask 'read IRQ_STATUS -q'
ask 'write IRQ_ACK 0x8'
ask 'read IRQ_STATUS -q'
exec 3>&-
wait $!
exec 4<&-
cat /tmp/pipe.err
"#
    );
    lab.put_file("/tmp/pipe.sh", script.as_bytes()).map_err(|e| e.to_string())?;
    let out = ok(lab, "sh /tmp/pipe.sh")?;
    let expected = "0000:00:04.0: 1 MSI vector(s) armed\n\
                    0000:00:04.0 BAR0 0x0060 IRQ_RAISE <- 0x00000008\n\
                    0000:00:04.0: MSI vector 0 fired (1 event(s))\n\
                    0x00000008\n\
                    0000:00:04.0 BAR0 0x0064 IRQ_ACK <- 0x00000008\n\
                    0x00000000\n";
    check(out == expected, format!("got:\n{out}"))?;
    bind(lab, "0000:00:04.0", "none")
}
