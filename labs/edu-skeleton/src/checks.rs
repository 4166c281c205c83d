//! The checks of every task, one set for both your code ([`crate::tasks`]) and
//! the reference solution ([`crate::solution`]): [`checks!`] writes them for a
//! module, and `edu-checks` (`--solution`) runs them in the guest.
//!
//! Each check runs on the real edu (0000:00:04.0, or `$EDU_DEVICE`), one at a
//! time, after the device is put back in a known state; some also hand your
//! function plain memory or a fake device, to see that it decides from what
//! it reads. A `todo!()` makes its checks fail ("not yet implemented"); the
//! harness carries on with the next.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use mmiodrv::backend::{Backend, BackendKind, BarOptions, Interrupts, IrqKind};
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::error::{ErrorKind, Result};
use mmiodrv::mmio::{MmioRegion, RegisterIo, Width};
use mmiodrv_edu::regs::{DMA_CMD, IRQ_ACK, IRQ_STATUS, STATUS};

use crate::guard::Guarded;

/// One check.
pub type Check = fn(&Lab) -> std::result::Result<(), Failed>;

/// The opened device every check uses.
pub struct Lab {
    device: Device,
    bar: Guarded,
}

impl Lab {
    /// Open edu and its BAR0 (behind the [`Guarded`] rail).
    pub fn open(address: &str) -> Result<Lab> {
        let device = Device::open(address, OpenOptions::default())?;
        let bar = Guarded::new(device.backend().open_bar(0, BarOptions::RW)?);
        Ok(Lab { device, bar })
    }

    /// BAR0, as your functions get it.
    pub fn bar(&self) -> &dyn RegisterIo {
        &self.bar
    }

    /// The backend, for interrupts and DMA buffers; VFIO or a failed check.
    pub fn vfio(&self) -> std::result::Result<&dyn Backend, Failed> {
        let backend = self.device.backend();
        if backend.kind() != BackendKind::Vfio {
            return Err(format!(
                "this check needs VFIO and edu is reached through {}: bind it first \
                 (mmiodrv --device {} bind vfio-pci; lab/test-skeleton does)",
                backend.kind(),
                self.device.device()
            )
            .into());
        }
        Ok(backend)
    }

    /// Arm interrupts of `kind`.
    pub fn arm(&self, kind: IrqKind) -> std::result::Result<Box<dyn Interrupts + '_>, Failed> {
        Ok(self.vfio()?.interrupts(Some(kind))?)
    }

    /// Back to a known state: no factorial or DMA running, nothing pending,
    /// no interrupt asked for.
    pub fn reset(&self) -> Result<()> {
        let bar = self.bar();
        let deadline = Instant::now() + Duration::from_secs(60);
        while STATUS::COMPUTING.is_set(STATUS.read(bar)?) || DMA_CMD::START.is_set(DMA_CMD.read(bar)?) {
            if Instant::now() >= deadline {
                return Err(ErrorKind::Timeout { what: "edu to become idle".into(), ms: 60_000 }.into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        IRQ_ACK.write(bar, u32::MAX)?;
        STATUS.write(bar, 0)
    }
}

/// Fail with `msg` unless `cond`.
pub fn ensure(cond: bool, msg: impl Into<String>) -> std::result::Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(msg.into().into())
    }
}

/// Plain memory holding `id` at offset 0: not edu.
pub fn memory_with(id: u32) -> std::result::Result<MmioRegion, Failed> {
    let ram = MmioRegion::ram(4096)?;
    ram.write(0, Width::W32, id.into())?;
    Ok(ram)
}

/// A device that reads `value` everywhere and ignores writes: what a PCI
/// device that does not answer looks like (all ones on real hardware; 0 in
/// QEMU 7.2, lab 2).
pub struct Stuck(pub u32);

impl RegisterIo for Stuck {
    fn len(&self) -> u64 {
        0x10_0000
    }
    fn read(&self, _offset: u64, _width: Width) -> Result<u64> {
        Ok(self.0.into())
    }
    fn write(&self, _offset: u64, _width: Width, _value: u64) -> Result<()> {
        Ok(())
    }
}

/// After an interrupt is handled, nothing more may come: arm INTx (a level
/// stays asserted until acknowledged) and expect a timeout.
pub fn expect_quiet(lab: &Lab) -> std::result::Result<(), Failed> {
    let pending = IRQ_STATUS.read(lab.bar())?;
    ensure(pending == 0, format!("IRQ_STATUS is {pending:#x} afterwards: acknowledge what you handled"))?;
    let mut irqs = lab.arm(IrqKind::Intx)?;
    match irqs.wait(Duration::from_millis(100)) {
        Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. }) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(ev) => Err(format!("an interrupt is still asserted afterwards ({} vector {})", ev.kind, ev.vector).into()),
    }
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Whether `r` failed with a timeout.
pub fn is_timeout<T>(r: &Result<T>) -> bool {
    matches!(r, Err(e) if matches!(e.kind(), ErrorKind::Timeout { .. }))
}

/// `len` bytes of a pattern that differs at every offset and from run to run of `seed`.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8).collect()
}

/// The checks of every task, for the implementation in module `$imp`
/// (`tasks` or `solution`).
#[macro_export]
macro_rules! checks {
    ($imp:ident) => {{
        use std::time::Duration;
        use $crate::checks::*;
        use $crate::$imp::*;
        use mmiodrv::backend::IrqKind;
        use mmiodrv_edu::regs::{STATUS, DMA_CMD};
        use mmiodrv_edu::DMA_MASK_BITS;
        use mmiodrv::error::ErrorKind;
        use mmiodrv::mmio::RegisterIo;
        const TASK8: $crate::ring_checks::RingTask = $crate::ring_checks::RingTask {
            transmit: task8_rings::transmit,
            reap: task8_rings::reap,
            receive: task8_rings::receive,
        };
        let checks: Vec<(&'static str, Check)> = vec![
            // ---- task 1
            ("task1_identify::reads_version_1_0", |lab| {
                let v = task1_identify::identify(lab.bar())?;
                ensure(v == $crate::Version { major: 1, minor: 0 }, format!("edu is version 1.0, got {v:?}"))
            }),
            ("task1_identify::decodes_the_version_it_reads", |lab| {
                let _ = lab;
                let v = task1_identify::identify(&memory_with(0x0203_00ed)?)?;
                ensure(v == $crate::Version { major: 2, minor: 3 }, format!("ID 0x020300ed is version 2.3, got {v:?}"))
            }),
            ("task1_identify::refuses_another_magic", |lab| {
                let _ = lab;
                match task1_identify::identify(&memory_with(0x0100_00ab)?) {
                    Err(e) if matches!(e.kind(), ErrorKind::UnexpectedValue { .. }) => Ok(()),
                    other => Err(format!("ID 0x010000ab is not edu: expected UnexpectedValue, got {other:?}").into()),
                }
            }),
            ("task1_identify::refuses_a_vanished_device", |lab| {
                let _ = lab;
                let got = task1_identify::identify(&Stuck(u32::MAX));
                ensure(got.is_err(), format!("a device reading all ones is not edu, got {got:?}"))
            }),
            // ---- task 2
            ("task2_liveness::edu_is_alive", |lab| {
                ensure(task2_liveness::is_alive(lab.bar())?, "edu inverts what is written to LIVENESS: alive")
            }),
            ("task2_liveness::memory_is_not", |lab| {
                let _ = lab;
                let ram = memory_with(0)?;
                ensure(!task2_liveness::is_alive(&ram)?, "plain memory reads back what was written: not alive")
            }),
            ("task2_liveness::a_device_that_does_not_answer_is_not", |lab| {
                let _ = lab;
                for stuck in [u32::MAX, 0] {
                    ensure(
                        !task2_liveness::is_alive(&Stuck(stuck))?,
                        format!("a device reading {stuck:#x} whatever is written does not answer: which value's inverse is {stuck:#x}?"),
                    )?;
                }
                Ok(())
            }),
            // ---- task 3
            ("task3_factorial::five_is_120", |lab| {
                let got = task3_factorial::factorial(lab.bar(), 5, secs(5))?;
                ensure(got == 120, format!("5! = 120, got {got}"))
            }),
            ("task3_factorial::thirteen_wraps_at_32_bits", |lab| {
                let got = task3_factorial::factorial(lab.bar(), 12, secs(5))?;
                ensure(got == 479_001_600, format!("12! = 479001600, got {got}"))?;
                let got = task3_factorial::factorial(lab.bar(), 13, secs(5))?;
                ensure(got == 0x7328_cc00, format!("13! mod 2^32 = 0x7328cc00, got {got:#x}"))
            }),
            ("task3_factorial::waits_for_the_result", |lab| {
                let got = task3_factorial::factorial(lab.bar(), 100_000_000, secs(30))?;
                ensure(
                    got == 0,
                    format!("100000000! mod 2^32 is 0, got {got}: FACTORIAL still holds N while edu computes"),
                )
            }),
            ("task3_factorial::gives_up_at_the_timeout", |lab| {
                let got = task3_factorial::factorial(lab.bar(), $crate::BIG, Duration::from_millis(10));
                ensure(is_timeout(&got), format!("{}! takes edu about a second; with 10 ms expected a Timeout error, got {got:?}", $crate::BIG))
            }),
            // ---- task 4
            ("task4_factorial_irq::with_msi", |lab| {
                let (got, ev) = task4_factorial_irq::factorial_irq(lab.vfio()?, lab.bar(), IrqKind::Msi, 10, secs(5))?;
                ensure(got == 3_628_800, format!("10! = 3628800, got {got}"))?;
                ensure(ev.kind == IrqKind::Msi, format!("asked for MSI, the event is {ev:?}"))?;
                ensure(!STATUS::IRQ_FACT.is_set(STATUS.read(lab.bar())?), "STATUS.IRQ_FACT is still set afterwards")?;
                expect_quiet(lab)
            }),
            ("task4_factorial_irq::with_intx", |lab| {
                let (got, ev) = task4_factorial_irq::factorial_irq(lab.vfio()?, lab.bar(), IrqKind::Intx, 12, secs(5))?;
                ensure(got == 479_001_600, format!("12! = 479001600, got {got}"))?;
                ensure(ev.kind == IrqKind::Intx, format!("asked for INTx, the event is {ev:?}"))?;
                expect_quiet(lab)
            }),
            ("task4_factorial_irq::waits_for_the_interrupt", |lab| {
                let (got, _) = task4_factorial_irq::factorial_irq(lab.vfio()?, lab.bar(), IrqKind::Msi, 100_000_000, secs(30))?;
                ensure(got == 0, format!("100000000! mod 2^32 is 0, got {got}"))?;
                expect_quiet(lab)
            }),
            // ---- task 5
            ("task5_irq_by_hand::raises_or_together_and_acks_clear_bits", |lab| {
                let bar = lab.bar();
                task5_irq_by_hand::raise(bar, 0x10)?;
                task5_irq_by_hand::raise(bar, 0x20)?;
                let p = task5_irq_by_hand::pending(bar)?;
                ensure(p == 0x30, format!("raised 0x10 then 0x20: IRQ_STATUS is their OR, 0x30; pending() says {p:#x}"))?;
                task5_irq_by_hand::ack(bar, 0x10)?;
                let p = task5_irq_by_hand::pending(bar)?;
                ensure(p == 0x20, format!("acknowledged 0x10: 0x20 is left, pending() says {p:#x}"))?;
                task5_irq_by_hand::ack(bar, 0x20)?;
                let p = task5_irq_by_hand::pending(bar)?;
                ensure(p == 0, format!("acknowledged 0x20 too: nothing is left, pending() says {p:#x}"))
            }),
            ("task5_irq_by_hand::an_intx_not_acknowledged_fires_again", |lab| {
                let bar = lab.bar();
                let mut irqs = lab.arm(IrqKind::Intx)?;
                task5_irq_by_hand::raise(bar, 0x40)?;
                irqs.wait(secs(5))?;
                // Not acknowledged: the level is still up, and the next wait
                // (which unmasks the line) sees it at once.
                let again = irqs.wait(secs(1));
                ensure(again.is_ok(), format!("without an acknowledge the INTx line stays asserted, got {again:?}"))?;
                task5_irq_by_hand::ack(bar, 0x40)?;
                let after = irqs.wait(Duration::from_millis(100));
                ensure(is_timeout(&after), format!("acknowledged: the line drops, expected a timeout, got {after:?}"))
            }),
            ("task5_irq_by_hand::raise_wait_ack_with_msi", |lab| {
                let mut irqs = lab.arm(IrqKind::Msi)?;
                let seen = task5_irq_by_hand::raise_wait_ack(lab.bar(), irqs.as_mut(), 0x5, secs(5))?;
                ensure(seen == 0x5, format!("raised 0x5, IRQ_STATUS said {seen:#x}"))?;
                drop(irqs);
                expect_quiet(lab)
            }),
            ("task5_irq_by_hand::raise_wait_ack_with_intx", |lab| {
                let mut irqs = lab.arm(IrqKind::Intx)?;
                let seen = task5_irq_by_hand::raise_wait_ack(lab.bar(), irqs.as_mut(), 0x300, secs(5))?;
                ensure(seen == 0x300, format!("raised 0x300, IRQ_STATUS said {seen:#x}"))?;
                drop(irqs);
                expect_quiet(lab)
            }),
            // ---- task 6
            ("task6_dma::the_iova_is_yours_and_under_the_mask", |lab| {
                let iova = task6_dma::choose_iova();
                ensure(iova % 4096 == 0, format!("IOVA {iova:#x} is not page-aligned"))?;
                ensure(iova + 4096 <= 1 << DMA_MASK_BITS, format!("IOVA {iova:#x} leaves no page under the 28-bit mask"))?;
                let buf = task6_dma::alloc(lab.vfio()?, 4096)?;
                ensure(buf.iova() == iova, format!("alloc() mapped the buffer at {:#x}, choose_iova() says {iova:#x}", buf.iova()))
            }),
            ("task6_dma::round_trip", |lab| {
                let (bar, t) = (lab.bar(), secs(5));
                let buf = task6_dma::alloc(lab.vfio()?, 4096)?;
                let data = pattern(100, 7);
                buf.memory().copy_from_slice(0, &data)?;
                task6_dma::to_device(bar, &buf, 0, 0, 100, t)?;
                task6_dma::from_device(bar, 0, &buf, 0x800, 100, t)?;
                let mut back = vec![0u8; 100];
                buf.memory().copy_to_slice(0x800, &mut back)?;
                ensure(
                    back == data,
                    format!(
                        "100 bytes RAM -> edu -> RAM at 0x800 came back different: sent {:02x?}..., got {:02x?}... \
                         (did each transfer finish before the function returned?)",
                        &data[..8],
                        &back[..8]
                    ),
                )
            }),
            ("task6_dma::offsets_and_lengths", |lab| {
                let (bar, t) = (lab.bar(), secs(5));
                let buf = task6_dma::alloc(lab.vfio()?, 8192)?;
                for (i, (buf_off, edu_off, len)) in [(0x10u64, 0x123u64, 1u64), (0, 0, 0xfff), (0x1001, 0x7ff, 0x800)].into_iter().enumerate() {
                    let data = pattern(len as usize, 40 + i as u8);
                    buf.memory().copy_from_slice(buf_off, &data)?;
                    task6_dma::to_device(bar, &buf, buf_off, edu_off, len, t)?;
                    buf.memory().fill(0, 8192, 0)?;
                    task6_dma::from_device(bar, edu_off, &buf, 0x1000 - buf_off % 7, len, t)?;
                    let mut back = vec![0u8; len as usize];
                    buf.memory().copy_to_slice(0x1000 - buf_off % 7, &mut back)?;
                    ensure(back == data, format!("{len:#x} bytes via edu offset {edu_off:#x} came back different"))?;
                }
                Ok(())
            }),
            ("task6_dma::a_transfer_past_edu_buffer_is_an_error", |lab| {
                let buf = task6_dma::alloc(lab.vfio()?, 4096)?;
                let got = task6_dma::to_device(lab.bar(), &buf, 0, 0xff8, 16, secs(5));
                ensure(got.is_err(), "16 bytes at edu offset 0xff8 end past the buffer: expected an error")?;
                let cmd = DMA_CMD.read(lab.bar())?;
                ensure(!DMA_CMD::START.is_set(cmd), "and nothing may have started")
            }),
            // ---- task 7
            ("task7_mistakes::the_library_refuses_an_iova_beyond_the_mask", |lab| {
                match task7_mistakes::buffer_beyond_the_mask(lab.vfio()?) {
                    Err(e) if matches!(e.kind(), ErrorKind::Backend(mmiodrv::error::BackendError::IovaBeyondMask { .. })) => Ok(()),
                    Err(e) => Err(format!("expected the library's IovaBeyondMask error, got: {e}").into()),
                    Ok(b) => Err(format!("the library mapped a buffer at {:#x}: was it told the 28-bit mask?", b.iova()).into()),
                }
            }),
            ("task7_mistakes::edu_drops_address_bits_above_its_mask", |lab| {
                let got = task7_mistakes::dma_beyond_the_mask(lab.vfio()?, lab.bar())?;
                ensure(
                    got == b"from the low buffer!",
                    format!("the device read {:?}", String::from_utf8_lossy(&got)),
                )
            }),
            ("task7_mistakes::a_factorial_while_one_runs_is_ignored", |lab| {
                let (busy, got) = task7_mistakes::factorial_while_busy(lab.bar())?;
                ensure(busy, "STATUS.COMPUTING right after writing BIG: expected 1 (busy)")?;
                ensure(got == 0, format!("expected BIG! mod 2^32 = 0 (the write of 5 was ignored), got {got}"))
            }),
            // ---- task 8 (the e1000; src/ring_checks.rs)
            ("task8_rings::transmit_fills_the_descriptor_before_the_doorbell", |_| {
                $crate::ring_checks::transmit_fills_the_descriptor_before_the_doorbell(&TASK8)
            }),
            ("task8_rings::the_tail_wraps_around", |_| $crate::ring_checks::the_tail_wraps_around(&TASK8)),
            ("task8_rings::reap_stops_at_the_first_not_done", |_| {
                $crate::ring_checks::reap_stops_at_the_first_not_done(&TASK8)
            }),
            ("task8_rings::receive_takes_what_the_device_completed", |_| {
                $crate::ring_checks::receive_takes_what_the_device_completed(&TASK8)
            }),
            ("task8_rings::a_descriptor_without_dd_is_not_taken", |_| {
                $crate::ring_checks::a_descriptor_without_dd_is_not_taken(&TASK8)
            }),
            ("task8_rings::loopback_on_the_real_e1000", |_| $crate::ring_checks::loopback_on_the_real_e1000(&TASK8)),
        ];
        checks
    }};
}

/// Run `checks` on the device (`$EDU_DEVICE`, default 0000:00:04.0) with
/// libtest's command line `args` (a filter runs the checks whose name contains it).
pub fn main(
    args: impl IntoIterator<Item = String>,
    who: &str,
    checks: Vec<(&'static str, Check)>,
) -> std::process::ExitCode {
    let mut args = Arguments::from_iter(args);
    args.test_threads = Some(1);
    quiet_todo_panics();
    let address = std::env::var("EDU_DEVICE").unwrap_or_else(|_| "0000:00:04.0".into());
    if args.list {
        let trials = checks.iter().map(|(name, _)| Trial::test(*name, || Ok(()))).collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let lab = match Lab::open(&address) {
        Ok(lab) => Arc::new(lab),
        Err(e) => {
            eprintln!("edu-checks: cannot open edu: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!("edu-checks: {who} on {} through {}", lab.device.device(), lab.device.backend().kind());
    let trials = checks
        .into_iter()
        .map(|(name, check)| {
            let lab = Arc::clone(&lab);
            Trial::test(name, move || {
                lab.reset().map_err(|e| format!("resetting edu before the check: {e}"))?;
                let result = check(&lab);
                // Leave the device quiet even when a check failed half-way.
                let _ = lab.reset();
                result
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// A `todo!()` is reported by the harness as the check's failure ("not yet
/// implemented: task N ..."); the default panic message for it would only
/// repeat that. Other panics keep theirs (with the file and line).
fn quiet_todo_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if !text.starts_with("not yet implemented") {
            default(info);
        }
    }));
}
