//! Lab 7: the kinds of mapping side by side (docs/labs/07-mappings.md).
//!
//! ```text
//! lab-mappings bar DEVICE BAR     a BAR: sysfs resourceN (unbound) or VFIO (bound to vfio-pci)
//! lab-mappings file PATH          a file of whole pages, mapped shared (what --device file: does)
//! lab-mappings dma DEVICE SIZE    a DMA buffer at IOVA 0x100000 (VFIO)
//! lab-mappings anon SIZE          anonymous memory, not pinned
//! lab-mappings sigbus PATH        map a 2-page file, cut it to 1 page, read page 1
//! ```

use std::path::Path;
use std::process::ExitCode;

use edu_skeleton::mappings;
use mmiodrv::value::parse_size;

fn main() -> ExitCode {
    // The program's own pages (code, data, stack so far) faulted in and
    // locked first, so a pass's count is of the mapping it touches, not of a
    // page of this program's code run for the first time.
    if let Err(e) = nix::sys::mman::mlockall(nix::sys::mman::MlockAllFlags::MCL_CURRENT) {
        eprintln!("lab-mappings: mlockall: {e} (counts may include this program's own first-run pages)");
    }
    // The drivers whose devices `bar` knows (by name, as mmiodrv does).
    if let Err(e) = mmiodrv::drivers::install(&[&mmiodrv_edu::DRIVER, &mmiodrv_ivshmem::DRIVER]) {
        eprintln!("lab-mappings: {e}");
        return ExitCode::FAILURE;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let size = |s: &str| parse_size(s).ok().and_then(|n| usize::try_from(n).ok());
    let result = match words.as_slice() {
        ["bar", device, bar] => match bar.parse() {
            Ok(bar) => mappings::bar(device, bar),
            Err(_) => usage(),
        },
        ["file", path] => mappings::file(Path::new(path)),
        ["dma", device, n] => match size(n) {
            Some(n) => mappings::dma(device, n),
            None => usage(),
        },
        ["anon", n] => match size(n) {
            Some(n) => mappings::anon(n),
            None => usage(),
        },
        ["sigbus", path] => mappings::sigbus(Path::new(path)),
        _ => usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab-mappings: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> mmiodrv::Result<()> {
    Err(mmiodrv::Error::invalid(
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        "usage: lab-mappings bar DEVICE BAR | file PATH | dma DEVICE SIZE | anon SIZE | sigbus PATH",
    ))
}
