//! What the library's interrupt and DMA paths cost, measured the way
//! benches/baseline/vfio_costs.c measures the kernel's VFIO interface alone
//! (the floor; benches/vfio_costs.sh runs both in the lab guest):
//!
//! ```text
//! vfio_costs irq DEVICE COUNT                    edu: IRQ_RAISE, then the thread waiting
//!                                                in Interrupts::wait wakes (raise to wake-up)
//! vfio_costs pingpong DEVICE PEER COUNT ping|pong
//!                                                ivshmem-doorbell: ring PEER's vector 0, wait
//!                                                for ours (MSI-X); pong rings back
//! vfio_costs dmamap DEVICE COUNT SIZE            COUNT DmaBuffers of SIZE bytes mapped, then
//!                                                dropped (unmapped); and one BufferPool of
//!                                                COUNT x SIZE
//! ```
//!
//! One line of key=value each, as the C program prints. The device must be
//! bound to vfio-pci.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mmiodrv::backend::Backend;
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::ring::{BufferPool, PAGE};
use mmiodrv::{Error, Result};
use mmiodrv_drivers::edu::regs::{IRQ_ACK, IRQ_RAISE};
use mmiodrv_drivers::edu::Edu;
use mmiodrv_drivers::ivshmem::Ivshmem;
use nix::sys::eventfd::{EfdFlags, EventFd};

const WAIT: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let number = |s: &str| s.parse::<u64>().map_err(|_| Error::invalid(s, "expected a number"));
    let run = || -> Result<()> {
        match words.as_slice() {
            ["irq", device, count] => irq(device, number(count)?),
            ["pingpong", device, peer, count, role] => pingpong(device, number(peer)? as u16, number(count)?, role),
            ["dmamap", device, count, size] => dmamap(device, number(count)?, number(size)?),
            _ => Err(Error::invalid(
                args.join(" "),
                "usage: vfio_costs irq DEVICE COUNT | pingpong DEVICE PEER COUNT ping|pong | dmamap DEVICE COUNT SIZE",
            )),
        }
    };
    if let Err(e) = run() {
        eprintln!("vfio_costs: {e}");
        std::process::exit(1);
    }
}

fn report(what: &str, mut lat: Vec<f64>) {
    lat.sort_by(f64::total_cmp);
    let n = lat.len();
    println!("{what} count={n} min_us={:.2} median_us={:.2} p90_us={:.2}", lat[0], lat[n / 2], lat[n * 9 / 10]);
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// edu's interrupt: the main thread raises, a second thread sleeps in
/// `Interrupts::wait` (poll(2) on the MSI's eventfd), wakes, acknowledges
/// and tells the main thread when it woke (through an eventfd, as the C
/// program does: a channel that spins before it sleeps would keep the one
/// vCPU from the waiting thread).
fn irq(address: &str, count: u64) -> Result<()> {
    let device = Device::open(address, OpenOptions::default())?;
    let backend = device.backend();
    let edu = Edu::open(backend)?;
    let mut irqs = backend.interrupts(None)?;
    let bar = edu.bar();
    let sys = |e: nix::Error| Error::invalid("eventfd", e.to_string());
    let back = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC).map_err(sys)?;
    let woke: Mutex<Vec<Instant>> = Mutex::new(Vec::with_capacity(count as usize));
    let mut raised = Vec::with_capacity(count as usize);
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| -> Result<()> {
        let (back, woke) = (&back, &woke);
        let failed = &failed;
        let waiter = s.spawn(move || -> Result<()> {
            let run = (|| -> Result<()> {
                for _ in 0..count {
                    irqs.wait(WAIT)?;
                    let t = Instant::now();
                    IRQ_ACK.write(bar, 1)?;
                    woke.lock().unwrap_or_else(|p| p.into_inner()).push(t);
                    back.write(1).map_err(sys)?;
                }
                Ok(())
            })();
            if run.is_err() {
                // Wake the main thread, which then stops.
                failed.store(true, Ordering::SeqCst);
                let _ = back.write(1);
            }
            run
        });
        for _ in 0..count {
            raised.push(Instant::now());
            IRQ_RAISE.write(bar, 1)?;
            back.read().map_err(sys)?;
            if failed.load(Ordering::SeqCst) {
                break;
            }
        }
        waiter.join().unwrap_or_else(|_| Err(Error::invalid("waiter", "the waiting thread panicked")))
    })?;
    let woke = woke.into_inner().unwrap_or_else(|p| p.into_inner());
    report("irq", woke.iter().zip(&raised).map(|(w, r)| micros(*w - *r)).collect());
    Ok(())
}

/// ivshmem-doorbell between two processes, one device each.
fn pingpong(address: &str, peer: u16, count: u64, role: &str) -> Result<()> {
    let device = Device::open(address, OpenOptions::default())?;
    let iv = Ivshmem::open(device.backend())?;
    let mut irqs = iv.arm()?;
    let ping = role == "ping";
    if !ping {
        println!("ready");
    }
    let mut lat = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if ping {
            let t0 = Instant::now();
            iv.ring(peer, 0)?;
            iv.wait(irqs.as_mut(), Some(0), WAIT)?;
            lat.push(micros(t0.elapsed()));
        } else {
            iv.wait(irqs.as_mut(), Some(0), WAIT)?;
            iv.ring(peer, 0)?;
        }
    }
    if ping {
        report("pingpong", lat);
    }
    Ok(())
}

/// COUNT buffers mapped one by one (`Backend::dma_buffer`), then dropped;
/// then the same bytes as one `BufferPool`.
fn dmamap(address: &str, count: u64, size: u64) -> Result<()> {
    let device = Device::open(address, OpenOptions::default())?;
    let backend: &dyn Backend = device.backend();
    let stride = size.div_ceil(PAGE) * PAGE;
    let iova = 0x10_0000;
    let t0 = Instant::now();
    let bufs =
        (0..count).map(|i| backend.dma_buffer(size as usize, iova + i * stride, 48)).collect::<Result<Vec<_>>>()?;
    let t1 = Instant::now();
    drop(bufs);
    let t2 = Instant::now();
    let pool = BufferPool::allocate(backend, count as u32, size as u32, iova, 48)?;
    let t3 = Instant::now();
    drop(pool);
    let t4 = Instant::now();
    let per = |d: Duration| micros(d) / count as f64;
    println!(
        "dmamap count={count} size={size} map_us={:.2} unmap_us={:.2} pool_map_us={:.2} pool_unmap_us={:.2}",
        per(t1 - t0),
        per(t2 - t1),
        per(t3 - t2),
        per(t4 - t3)
    );
    Ok(())
}
