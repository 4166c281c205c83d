//! Lab 7 (docs/labs/07-mappings.md): the kinds of mapping mmiodrv makes, side
//! by side. `lab-mappings KIND ...` maps one through the library, prints the
//! kernel's line for it (`/proc/self/maps`) with its `VmFlags`, and counts the
//! page faults of touching every page once, then once more (getrusage's
//! minor faults, read right before and right after each loop).

use std::fs::OpenOptions as FileOptions;
use std::path::Path;

use mmiodrv::backend::{BarOptions, DmaBuffer};
use mmiodrv::device::{Device, OpenOptions};
use mmiodrv::error::{Error, Result};
use mmiodrv::mmio::{Mapping, MmioRegion, RegisterIo, Width};
use mmiodrv::procmaps;

const PAGE: u64 = 4096;

/// Minor page faults of this thread so far (not the process's: the library
/// may run a thread of its own, such as VFIO's release-request watcher).
pub fn minor_faults() -> u64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_THREAD).map(|u| u.minor_page_faults() as u64).unwrap_or(0)
}

/// Read 32 bits at the start of every page of `io`: returns the minor faults
/// the loop took.
pub fn touch_every_page(io: &dyn RegisterIo) -> Result<u64> {
    let pages = io.len().div_ceil(PAGE);
    let before = minor_faults();
    for page in 0..pages {
        io.read(page * PAGE, Width::W32)?;
    }
    Ok(minor_faults() - before)
}

/// Print the mapping at `addr` and the faults of two passes over `io`.
pub fn report(what: &str, addr: u64, io: &dyn RegisterIo) -> Result<()> {
    let pages = io.len().div_ceil(PAGE);
    println!("{what}: {} bytes, {pages} pages", io.len());
    match procmaps::find(&[addr])?.pop().flatten() {
        Some(m) => {
            println!("  {}", m.line);
            println!("  VmFlags: {}", m.vm_flags.join(" "));
        }
        None => println!("  (no mapping at {addr:#x})"),
    }
    let first = touch_every_page(io)?;
    let second = touch_every_page(io)?;
    println!("  minor faults, first touch of every page: {first}");
    println!("  minor faults, second touch: {second}");
    Ok(())
}

/// `lab-mappings bar DEVICE BAR`: a BAR through the backend its driver allows
/// (sysfs `resourceN` when unbound, VFIO when bound to vfio-pci). Only edu's
/// BAR0 and ivshmem's BAR2, whose reads change nothing.
pub fn bar(device: &str, bar: u8) -> Result<()> {
    let dev = Device::open(device, OpenOptions::default())?;
    let driver = dev.driver().map(|d| d.name()).unwrap_or("");
    if !matches!((driver, bar), ("edu", 0) | ("ivshmem", 2)) {
        return Err(Error::invalid(
            format!("{device} BAR{bar}"),
            "lab-mappings reads every page: only edu's BAR0 and ivshmem's BAR2, where reads change nothing",
        ));
    }
    let io = dev.backend().open_bar(bar, BarOptions::RW)?;
    let addr = io.as_mmio().map(|r| r.base_ptr() as u64).unwrap_or(0);
    report(&format!("{} BAR{bar} through {}", dev.device(), dev.backend().kind()), addr, io.as_ref())
}

/// `lab-mappings file PATH`: a file mapped shared, as `--device file:` maps
/// ivshmem's memory on the host.
pub fn file(path: &Path) -> Result<()> {
    let (region, _file) = map_file(path)?;
    report(&format!("{} mapped shared", path.display()), region.base_ptr() as u64, &region)
}

fn map_file(path: &Path) -> Result<(MmioRegion, std::fs::File)> {
    let file = FileOptions::new().read(true).write(true).open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let len = file.metadata().map_err(|e| Error::io("cannot stat", path, e))?.len();
    if len == 0 || len % PAGE != 0 {
        return Err(Error::invalid(path.display().to_string(), "want a file of whole pages"));
    }
    let mapping =
        Mapping::map_file(&file, len as usize, 0, true).map_err(|e| Error::io("cannot mmap", path, e.into()))?;
    Ok((MmioRegion::new(mapping), file))
}

/// `lab-mappings dma DEVICE SIZE`: a DMA buffer (anonymous memory, pinned and
/// mapped for the device by VFIO) at IOVA 0x100000.
pub fn dma(device: &str, size: usize) -> Result<()> {
    let dev = Device::open(device, OpenOptions::default())?;
    let buf: DmaBuffer = dev.backend().dma_buffer(size, 0x10_0000, 28)?;
    let what = format!("{} DMA buffer at IOVA {:#x}", dev.device(), buf.iova());
    report(&what, buf.memory().base_ptr() as u64, buf.memory())
}

/// `lab-mappings anon SIZE`: plain anonymous memory, as a DMA buffer starts
/// before VFIO pins it.
pub fn anon(size: usize) -> Result<()> {
    let region = MmioRegion::ram(size)?;
    report("anonymous memory (not pinned)", region.base_ptr() as u64, &region)
}

/// `lab-mappings sigbus PATH`: map a file of two pages, cut it to one, read
/// the second page. Reading past the end of a file is the classic SIGBUS:
/// the page is mapped, but there is nothing behind it. Without a handler the
/// process dies ("Bus error", exit status 135); mmiodrv's (mmio/fault.rs)
/// puts zeroed memory in the mapping's place, lets the read complete and
/// marks the region faulted, which a driver checks.
pub fn sigbus(path: &Path) -> Result<()> {
    std::fs::write(path, vec![0u8; 2 * PAGE as usize]).map_err(|e| Error::io("cannot write", path, e))?;
    let (region, file) = map_file(path)?;
    let addr = region.base_ptr() as u64;
    region.write(0, Width::W32, 0x1234_5678)?;
    println!("{} mapped shared: 2 pages; page 0 holds 0x12345678", path.display());
    print_line(addr)?;
    file.set_len(PAGE).map_err(|e| Error::io("cannot truncate", path, e))?;
    println!("the file is cut to 1 page");
    println!("reading page 0: {:#x}", region.read(0, Width::W32)?);
    println!("reading page 1: {:#x}", region.read(PAGE, Width::W32)?);
    println!("faulted: {}", region.faulted());
    println!("reading page 0 again: {:#x}", region.read(0, Width::W32)?);
    print_line(addr)?;
    Ok(())
}

fn print_line(addr: u64) -> Result<()> {
    match procmaps::find(&[addr])?.pop().flatten() {
        Some(m) => println!("  {}", m.line),
        None => println!("  (no mapping at {addr:#x})"),
    }
    Ok(())
}
