//! Faults on the real edu device (issue 12): the kernel's request for a device
//! held through VFIO (sysfs `remove`, unbind) is honoured at once; signals stop
//! a run cleanly with their own exit status and the line it stopped at; a BAR
//! mapping revoked under a running process is an error, not a SIGBUS death;
//! a bind interrupted at any moment leaves a consistent state. (QMP
//! hot-unplug: tests/vm_pcie.rs.)

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::backends::{bind, reset_edu};
use crate::common::vm::{check, driver_of, ok};
use crate::EDU;

const DEV: &str = "0000:00:04.0";

/// Run `script` in the guest (sh) and return its stdout.
fn script(lab: &mut Lab, name: &str, text: &str) -> Result<String, Failed> {
    let path = format!("/tmp/{name}.sh");
    lab.put_file(&path, text.as_bytes()).map_err(|e| e.to_string())?;
    ok(lab, &format!("sh {path}"))
}

/// Milliseconds from two /proc/uptime readings printed as `T0 T1`.
fn elapsed_ms(line: &str) -> Option<u64> {
    let mut it = line.split_whitespace().map(|t| t.parse::<f64>().ok());
    let (a, b) = (it.next()??, it.next()??);
    Some(((b - a) * 1000.0).round() as u64)
}

/// `mmiodrv ... &` held through VFIO while `action` takes the device away;
/// prints "took T0 T1", "exit N" and the holder's stderr.
fn take_away_while_held(lab: &mut Lab, holder: &str, action: &str) -> Result<(u64, String), Failed> {
    let out = script(
        lab,
        "take-away",
        &format!(
            r#"{holder} >/tmp/held.out 2>/tmp/held.err &
P=$!
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
{action}
t1=$(cut -d' ' -f1 /proc/uptime)
wait $P; echo "exit $?"
echo "took $t0 $t1"
cat /tmp/held.err
"#
        ),
    )?;
    let took = out
        .lines()
        .find_map(|l| l.strip_prefix("took "))
        .and_then(elapsed_ms)
        .ok_or_else(|| format!("no timing in:\n{out}"))?;
    Ok((took, out))
}

pub fn removal_of_a_held_device_completes_at_once(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, DEV, "vfio-pci")?;
    let remove = format!("echo 1 > /sys/bus/pci/devices/{DEV}/remove");
    let (took, out) = take_away_while_held(lab, &format!("{EDU} wait-irq --timeout 30000"), &remove)?;
    let expected = format!(
        "exit 9\nmmiodrv: error: {DEV}: the kernel asked for the device back: it is being removed or unbound\n"
    );
    check(out.starts_with("exit 9\n") && out.ends_with(&expected[7..]), format!("got:\n{out}"))?;
    check(took < 1000, format!("the removal took {took} ms:\n{out}"))?;
    check(!out.contains("panicked") && !out.contains("ERROR"), out)?;
    // Back, and usable: the device works and nothing holds it.
    ok(lab, &format!("echo 1 > /sys/bus/pci/rescan; sleep 0.3; test -d /sys/bus/pci/devices/{DEV}"))?;
    check(ok(lab, &format!("{EDU} read ID -q"))? == "0x010000ed\n", "edu after the rescan")?;
    Ok(())
}

pub fn unbind_of_a_held_device_names_the_line(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, DEV, "vfio-pci")?;
    lab.put_file("/tmp/held.txt", b"read ID -q\nwrite LIVENESS 1\nsleep 30000\nread ID -q\n")
        .map_err(|e| e.to_string())?;
    let unbind = format!("echo {DEV} > /sys/bus/pci/drivers/vfio-pci/unbind");
    let (took, out) = take_away_while_held(lab, &format!("{EDU} batch /tmp/held.txt"), &unbind)?;
    let line = format!(
        "mmiodrv: error: /tmp/held.txt:3: {DEV}: the kernel asked for the device back: it is being removed or unbound\n"
    );
    check(out.starts_with("exit 9\n") && out.ends_with(&line), format!("got:\n{out}"))?;
    check(took < 1000, format!("the unbind took {took} ms:\n{out}"))?;
    check(driver_of(lab, DEV)? == "none", "unbound")?;
    ok(lab, &format!("echo > /sys/bus/pci/devices/{DEV}/driver_override"))?;
    Ok(())
}

pub fn signals_stop_a_run_at_its_line(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    lab.put_file("/tmp/sig.txt", b"read ID -q\nsleep 30000\nread ID -q\n").map_err(|e| e.to_string())?;
    for (signal, status) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out = script(
            lab,
            "sig",
            &format!(
                "{EDU} batch /tmp/sig.txt >/tmp/sig.out 2>/tmp/sig.err &\nP=$!\nsleep 0.5\nkill -{signal} $P\nwait $P; echo \"exit $?\"\ncat /tmp/sig.out /tmp/sig.err\n"
            ),
        )?;
        let expected =
            format!("exit {status}\n0x010000ed\nmmiodrv: error: /tmp/sig.txt:2: {DEV}: interrupted by SIG{signal}\n");
        check(out == expected, format!("SIG{signal}: got:\n{out}"))?;
    }
    // Under VFIO the same, and the device is free at once for the next process.
    bind(lab, DEV, "vfio-pci")?;
    let out = script(
        lab,
        "sig-vfio",
        &format!(
            "{EDU} wait-irq --timeout 30000 2>/tmp/sig.err &\nP=$!\nsleep 0.5\nkill -INT $P\nwait $P; echo \"exit $?\"\ncat /tmp/sig.err\n{EDU} read ID -q\n"
        ),
    )?;
    check(
        out == format!("exit 130\nmmiodrv: error: {DEV}: interrupted by SIGINT\n0x010000ed\n"),
        format!("VFIO wait-irq: got:\n{out}"),
    )?;
    bind(lab, DEV, "none")
}

/// Another process takes the device over through VFIO (which revokes sysfs
/// mappings of its BARs) while a batch runs on the sysfs backend: the batch's
/// next access takes a bus error, which is an error naming the line. (The
/// batch holds the device's lock: the other process needs --force, for the
/// bind and the read.)
pub fn a_revoked_mapping_is_an_error_not_a_crash(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    lab.put_file("/tmp/bus.txt", b"read ID -q\nsleep 1500\nread ID -q\nread LIVENESS -q\n")
        .map_err(|e| e.to_string())?;
    let out = script(
        lab,
        "bus",
        &format!(
            "{EDU} batch /tmp/bus.txt >/tmp/bus.out 2>/tmp/bus.err &\nP=$!\nsleep 0.5\n{EDU} bind vfio-pci --force >/dev/null\n{EDU} read ID -q --force\nwait $P; echo \"exit $?\"\ncat /tmp/bus.out /tmp/bus.err\n"
        ),
    )?;
    let expected = format!(
        "0x010000ed\nexit 9\n0x010000ed\nmmiodrv: error: /tmp/bus.txt:3: {DEV}: the device is gone (a bus error on its BAR \
         mapping: removed, reset, or taken over through VFIO)\n"
    );
    check(out == expected, format!("got:\n{out}"))?;
    bind(lab, DEV, "none")
}

/// SIGINT at many moments of `bind vfio-pci` and of `unbind`: each run
/// either completes (exit 0, or 130 saying it completed first) and the device
/// is where it was asked to be, or never started; never an override left on
/// an unbound device.
pub fn an_interrupted_bind_is_complete_or_not_started(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    let out = script(
        lab,
        "bind-sig",
        &format!(
            r#"for d in 0 1 2 3 4 5 6 8 10 15; do
  for cmd in "bind vfio-pci" "unbind"; do
    # Emptied first: a signal may land before the child opens it.
    : >/tmp/b.err
    {EDU} $cmd >/dev/null 2>/tmp/b.err &
    P=$!
    usleep $((d * 1000))
    kill -INT $P 2>/dev/null
    wait $P; s=$?
    drv=$(basename $(readlink /sys/bus/pci/devices/{DEV}/driver) 2>/dev/null || echo none)
    ovr=$(cat /sys/bus/pci/devices/{DEV}/driver_override)
    echo "$d|$cmd|$s|$drv|$ovr|$(cat /tmp/b.err)"
  done
done
"#
        ),
    )?;
    let mut interrupted = 0;
    for line in out.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [_, cmd, status, driver, over, err] = f[..] else { return Err(format!("bad line {line:?}").into()) };
        let want = if cmd.starts_with("bind") { "vfio-pci" } else { "none" };
        match status {
            "0" => check(err.is_empty() && driver == want, format!("completed but: {line}"))?,
            "130" => {
                interrupted += 1;
                // Either the signal came during the steps, which completed first
                // and say so, or before mmiodrv started listening (killed before
                // it touched anything: no message).
                let done = err.contains("interrupted by SIGINT; the") && err.contains("completed first");
                check((done && driver == want) || err.is_empty(), format!("interrupted: {line}"))?;
            }
            _ => return Err(format!("unexpected status: {line}").into()),
        }
        check(
            driver != "none" || over.is_empty() || over == "(null)",
            format!("override left on an unbound device: {line}"),
        )?;
    }
    check(out.lines().count() == 20, format!("20 runs:\n{out}"))?;
    eprintln!("bind/unbind under SIGINT: {interrupted} of 20 runs interrupted, all consistent");
    bind(lab, DEV, "none")
}

/// Two loops of factorials through sysfs at once: each command has the
/// device to itself (the device lock), so every result is right.
pub fn concurrent_users_take_turns(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    let out = script(
        lab,
        "turns",
        &format!(
            r#"loop() {{ for i in $(seq 25); do {EDU} edu factorial $1 || echo "failed $?"; done; }}
loop 5 > /tmp/f5 2>&1 &
A=$!
loop 12 > /tmp/f12 2>&1 &
B=$!
wait $A $B
sort /tmp/f5 | uniq -c; sort /tmp/f12 | uniq -c
"#
        ),
    )?;
    let expected = "     25 5! = 120 (0x00000078)\n     25 12! = 479001600 (0x1c8cfc00)\n";
    check(out == expected, format!("got:\n{out}"))?;
    // A holder that keeps it: the other waits, then fails naming the holder.
    lab.put_file("/tmp/hold.txt", b"write LIVENESS 1\nsleep 4000\n").map_err(|e| e.to_string())?;
    let out = script(
        lab,
        "holder",
        &format!(
            "{EDU} batch /tmp/hold.txt >/dev/null &\nP=$!\nsleep 0.5\n{EDU} edu factorial 5 2>&1; echo \"exit $?\"\necho \"holder $P\"\nwait $P\n"
        ),
    )?;
    let pid = out.lines().find_map(|l| l.strip_prefix("holder ")).unwrap_or("?").to_string();
    let refused = format!(
        "mmiodrv: error: {DEV}: refusing to use a device in use: mmiodrv process {pid} is using it; \
         fix: wait for that process to finish (or stop it), or pass --force if you are sure\nexit 6\n"
    );
    check(out.starts_with(&refused) && out.ends_with(&format!("holder {pid}\n")), format!("got:\n{out}"))?;
    Ok(())
}

/// bind, unbind and bind --restore refuse a device another process holds
/// from userspace (its VFIO group open, its BAR mapped through sysfs), and
/// racing binds to two drivers end in one consistent state.
pub fn binding_respects_other_holders(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, DEV, "vfio-pci")?;
    let group = ok(lab, &format!("basename $(readlink /sys/bus/pci/devices/{DEV}/iommu_group)"))?;
    let group = group.trim();
    let out = script(
        lab,
        "held-group",
        &format!(
            "{EDU} wait-irq --timeout 3000 >/dev/null 2>&1 &\nP=$!\nsleep 0.5\nfor c in unbind 'bind uio_pci_generic' 'bind --restore'; do {EDU} $c 2>&1; echo \"exit $?\"; done\necho \"holder $P\"\nkill -INT $P; wait $P; true\n"
        ),
    )?;
    let pid = out.lines().find_map(|l| l.strip_prefix("holder ")).unwrap_or("?").to_string();
    let refusal = |action: &str| {
        format!(
            "mmiodrv: error: {DEV}: refusing to {action} a device in use: /dev/vfio/{group} is open in process {pid}; \
             fix: wait for that process to finish (or stop it), or pass --force if you are sure\nexit 6\n"
        )
    };
    let expected = format!("{}{}{}holder {pid}\n", refusal("unbind"), refusal("unbind"), refusal("unbind"));
    check(out == expected, format!("got:\n{out}"))?;
    check(driver_of(lab, DEV)? == "vfio-pci", "still bound to vfio-pci")?;
    // Nor does the sysfs backend go behind VFIO's back: refused before any
    // access, and the register keeps its value.
    ok(lab, &format!("{EDU} write LIVENESS 0x5"))?;
    crate::common::vm::fails(lab, &format!("{EDU} --backend sysfs write LIVENESS 0x7"), 6, "its BARs belong to VFIO")?;
    check(ok(lab, &format!("{EDU} read LIVENESS -q"))?.trim() == "0xfffffffa", "LIVENESS changed behind VFIO")?;
    bind(lab, DEV, "none")?;
    let out = script(
        lab,
        "race",
        &format!(
            r#"for i in 1 2 3 4 5; do
  {EDU} bind vfio-pci >/dev/null 2>&1 &
  {EDU} bind uio_pci_generic >/dev/null 2>&1 &
  wait
  drv=$(basename $(readlink /sys/bus/pci/devices/{DEV}/driver) 2>/dev/null || echo none)
  echo "$drv $(cat /sys/bus/pci/devices/{DEV}/driver_override)"
  {EDU} unbind >/dev/null
done
"#
        ),
    )?;
    for line in out.lines() {
        check(matches!(line, "vfio-pci vfio-pci" | "uio_pci_generic uio_pci_generic"), format!("racing binds: {out}"))?;
    }
    check(out.lines().count() == 5, out)?;
    Ok(())
}

/// SIGINT while an edu DMA is in flight (under VFIO, completion by
/// interrupt): mmiodrv waits for the transfer and acknowledges it before the
/// buffer is unmapped, says so, exits 130, and the device is idle and works.
/// The signal is sent once the trace shows DMA_CMD written: edu's transfer
/// takes 100 ms of virtual time from there.
pub fn a_signal_during_dma_waits_for_the_transfer(lab: &mut Lab) -> Result<(), Failed> {
    reset_edu(lab)?;
    bind(lab, DEV, "vfio-pci")?;
    let out = script(
        lab,
        "sig-dma",
        &format!(
            "head -c 2048 /dev/urandom > /tmp/dma.bin\nrm -f /tmp/dma.trace\n\
             {EDU} --trace /tmp/dma.trace edu dma to-device /tmp/dma.bin --irq >/tmp/dma.out 2>/tmp/dma.err &\nP=$!\n\
             i=0; until grep -q '\"op\":\"write\",\"bar\":0,\"offset\":152' /tmp/dma.trace 2>/dev/null; do i=$((i+1)); [ $i -gt 500 ] && break; sleep 0.01; done\n\
             kill -INT $P\nwait $P; echo \"exit $?\"\ncat /tmp/dma.err\n\
             {EDU} read DMA_CMD.START -q\n{EDU} read IRQ_STATUS -q\n"
        ),
    )?;
    let want = format!(
        "exit 130\nmmiodrv: error: {DEV}: interrupted by SIGINT; the transfer in flight was awaited and acknowledged first\n0x0\n0x00000000\n"
    );
    check(out == want, format!("got:\n{out}"))?;
    // The next transfer works: the bytes go to the device and come back.
    let round = ok(
        lab,
        &format!(
            "{EDU} edu dma to-device /tmp/dma.bin && {EDU} edu dma from-device --len 2048 --out /tmp/dma.back && cmp /tmp/dma.bin /tmp/dma.back && echo same"
        ),
    )?;
    check(round.trim_end().ends_with("same"), format!("round trip after the interrupted one: {round}"))?;
    bind(lab, DEV, "none")
}

/// `echo 1 > .../remove` of `dev` while `holder` runs (started a second
/// before): the holder's exit status, its stderr, and how long from the
/// removal to its end (the removal itself included: under VFIO it waits for
/// the holder to let go). The device is put back (rescan) before returning.
fn removed_while(lab: &mut Lab, dev: &str, holder: &str) -> Result<(String, String, u64), Failed> {
    let out = script(
        lab,
        "removed-while",
        &format!(
            r#"{holder} >/tmp/rm.out 2>/tmp/rm.err &
P=$!
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime)
echo 1 > /sys/bus/pci/devices/{dev}/remove
wait $P; s=$?
t1=$(cut -d' ' -f1 /proc/uptime)
echo "exit $s"
echo "took $t0 $t1"
cat /tmp/rm.err
echo 1 > /sys/bus/pci/rescan
for i in $(seq 50); do test -e /sys/bus/pci/devices/{dev}/config && break; sleep 0.1; done
"#
        ),
    )?;
    let status = out.lines().find_map(|l| l.strip_prefix("exit ")).unwrap_or("?").to_string();
    let took = out
        .lines()
        .find_map(|l| l.strip_prefix("took "))
        .and_then(elapsed_ms)
        .ok_or_else(|| format!("no timing in:\n{out}"))?;
    let err = out.lines().filter(|l| l.starts_with("mmiodrv: error:")).collect::<Vec<_>>().join("\n");
    ok(lab, &format!("test -e /sys/bus/pci/devices/{dev}/config"))?;
    Ok((status, err, took))
}

/// Removal through sysfs `remove` under a running poll, watch and bulk copy
/// (ivshmem bench: copies in and out of BAR2 for as long as it runs), on
/// sysfs, UIO and VFIO: each ends within 1 s with the device-gone error,
/// exit 9. Before issue 23, a poll through sysfs polled on until its
/// timeout (exit 8: a removed device's stale mapping still reads in QEMU), a
/// watch until its timeout, and a copy until its end.
pub fn removal_under_poll_watch_and_copies_on_every_backend(lab: &mut Lab) -> Result<(), Failed> {
    const IVSHMEM_DEV: &str = "0000:00:05.0";
    let mut report = Vec::new();
    for (driver, backend) in [("none", "sysfs"), ("uio_pci_generic", "uio"), ("vfio-pci", "vfio")] {
        let holders = [
            ("poll", DEV, format!("{EDU} --backend {backend} poll STATUS 0x1 --timeout 20000")),
            ("watch", DEV, format!("{EDU} --backend {backend} watch STATUS --interval 20 --timeout 20000")),
            (
                "bulk copy",
                IVSHMEM_DEV,
                format!(
                    "mmiodrv --device {IVSHMEM_DEV} --backend {backend} ivshmem bench --size 1M --rounds 100000 --live"
                ),
            ),
        ];
        for (what, dev, holder) in holders {
            if dev == DEV {
                reset_edu(lab)?;
            }
            bind(lab, dev, driver)?;
            let (status, err, took) = removed_while(lab, dev, &holder)?;
            let gone = err.contains("the device is gone") || err.contains("the kernel asked for the device back");
            check(
                status == "9" && gone && !err.contains("panicked"),
                format!("{what} through {backend}: exit {status}: {err}"),
            )?;
            check(took < 1000, format!("{what} through {backend}: ended {took} ms after the removal: {err}"))?;
            report.push(format!("{what}/{backend} {took} ms"));
            // Back from the rescan unbound: the next trial binds what it needs.
            if driver_of(lab, dev)? != "none" {
                bind(lab, dev, "none")?;
            }
        }
    }
    eprintln!("removal under a running operation, ended after: {}", report.join(", "));
    Ok(())
}
