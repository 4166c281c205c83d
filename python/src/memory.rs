//! `dev.bar(n)` and `dev.dma_buffer(size)`: raw accesses and bulk copies.
//! Bulk copies use the library's paths (the widest aligned volatile accesses,
//! never memcpy or a byte loop on device memory); single accesses are one
//! access of the width asked for.

use mmiodrv::error::{AccessError, BackendError};
use std::sync::Arc;

use mmiodrv::backend::DmaBuffer as LibDma;
use mmiodrv::error::{Error, ErrorKind, Result};
use mmiodrv::lock::LockMode;
use mmiodrv::mmio::MmioRegion;
use mmiodrv::window::Window;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::args;
use crate::errors::OrRaise;
use crate::state::Shared;

/// The mapping behind a window, for bulk copies: only on BARs without a
/// register map (memory-like BARs), where no width rule can be broken.
fn bulk_region(w: &Window) -> Result<&MmioRegion> {
    let layout = w.layout();
    if let (Some(map), false) = (layout.map(), layout.force) {
        return Err(Error::on(
            layout.device.clone(),
            ErrorKind::NotSupported {
                what: "a bulk copy on a BAR with a register map",
                why: format!(
                    "BAR{} is {}'s register block: access its registers one at a time (read/write), \
                     or open with force=True",
                    layout.bar, map.name
                ),
            },
        ));
    }
    w.io().as_mmio().ok_or_else(|| {
        Error::on(
            layout.device.clone(),
            BackendError::NotMapped { bar: layout.bar, why: "the backend offers no mapping of it" },
        )
    })
}

/// One BAR of an opened device.
#[pyclass(module = "mmiodrv", frozen)]
pub struct Bar {
    shared: Arc<Shared>,
    /// The BAR's index.
    #[pyo3(get)]
    index: u8,
    /// Its size in bytes.
    #[pyo3(get)]
    size: u64,
}

impl Bar {
    pub fn new(shared: Arc<Shared>, index: u8, size: u64) -> Self {
        Bar { shared, index, size }
    }

    fn on(&self) -> Option<&str> {
        Some(&self.shared.name)
    }

    fn window<T>(&self, f: impl FnOnce(&Window) -> Result<T>) -> Result<T> {
        self.shared.with_lock(LockMode::Shared, |o| {
            let w = o.window(Some(self.index))?;
            f(&w)
        })
    }
}

#[pymethods]
impl Bar {
    /// One read of `width` bits (8, 16, 32, 64) at `offset`: aligned, inside
    /// the BAR, and a width the map allows there.
    #[pyo3(signature = (offset, width = None))]
    fn read(&self, py: Python<'_>, offset: &Bound<'_, PyAny>, width: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let (at, width) = (|| Ok((args::target(offset)?, args::width(width)?)))().or_raise(py, self.on())?;
        let bar = Some(self.index);
        py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.read(bar, &at, width).map(|a| a.value)))
            .or_raise(py, self.on())
    }

    /// One write of `width` bits at `offset` (checked as `read`, and the value must fit).
    #[pyo3(signature = (offset, value, width = None))]
    fn write(
        &self,
        py: Python<'_>,
        offset: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        width: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (at, value, width) = (|| Ok((args::target(offset)?, args::uint(value, "value")?, args::width(width)?)))()
            .or_raise(py, self.on())?;
        let bar = Some(self.index);
        py.detach(|| self.shared.with_lock(LockMode::Shared, |o| o.write(bar, &at, width, value.into())))
            .or_raise(py, self.on())
    }

    /// `n` bytes from `offset`, by the bulk-copy path.
    fn read_bytes<'py>(
        &self,
        py: Python<'py>,
        offset: &Bound<'py, PyAny>,
        n: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (offset, n) = (|| Ok((args::uint(offset, "offset")?, args::small::<usize>(n, "n", self.size)?)))()
            .or_raise(py, self.on())?;
        let data = py
            .detach(|| {
                self.window(|w| {
                    let region = bulk_region(w)?;
                    region.check_span(offset, n as u64)?;
                    let mut buf = vec![0u8; n];
                    region.copy_to_slice(offset, &mut buf)?;
                    Ok(buf)
                })
            })
            .or_raise(py, self.on())?;
        Ok(PyBytes::new(py, &data))
    }

    /// Write `data` (any bytes-like object) at `offset`, by the bulk-copy path.
    fn write_bytes(&self, py: Python<'_>, offset: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let offset = args::uint(offset, "offset").or_raise(py, self.on())?;
        let data = args::bytes(data)?;
        py.detach(|| self.window(|w| bulk_region(w)?.copy_from_slice(offset, &data))).or_raise(py, self.on())
    }

    fn __len__(&self) -> usize {
        self.size as usize
    }

    fn __repr__(&self) -> String {
        format!("<mmiodrv.Bar {} BAR{} ({:#x} bytes)>", self.shared.name, self.index, self.size)
    }
}

/// RAM the device reaches at `iova` through the IOMMU.
#[pyclass(module = "mmiodrv", frozen)]
pub struct DmaBuffer {
    shared: Arc<Shared>,
    id: u64,
    /// The address the device uses for it.
    #[pyo3(get)]
    iova: u64,
    /// Its size in bytes.
    #[pyo3(get)]
    size: usize,
}

impl DmaBuffer {
    pub fn new(shared: Arc<Shared>, id: u64, iova: u64, size: usize) -> Self {
        DmaBuffer { shared, id, iova, size }
    }

    fn on(&self) -> Option<&str> {
        Some(&self.shared.name)
    }

    fn buffer<T>(&self, f: impl FnOnce(&LibDma) -> Result<T>) -> Result<T> {
        self.shared.with(|o| {
            let buffer = o.dma(self.id).ok_or_else(|| {
                Error::invalid(format!("IOVA {:#x}", self.iova), "this DMA buffer was closed (unmapped)")
            })?;
            f(&buffer)
        })
    }

    fn check(&self, offset: u64, n: u64) -> Result<()> {
        if offset.checked_add(n).is_none_or(|end| end > self.size as u64) {
            return Err(AccessError::OutOfRange { offset, width: n, len: self.size as u64 }.into());
        }
        Ok(())
    }
}

#[pymethods]
impl DmaBuffer {
    /// `n` bytes from `offset` (default: all of it from there), copied out
    /// with volatile accesses (the device may write it at any time).
    #[pyo3(signature = (offset = None, n = None))]
    fn read_bytes<'py>(
        &self,
        py: Python<'py>,
        offset: Option<&Bound<'py, PyAny>>,
        n: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (offset, n) = (|| {
            let offset = offset.filter(|o| !o.is_none()).map(|o| args::uint(o, "offset")).transpose()?.unwrap_or(0);
            let n = match n.filter(|n| !n.is_none()) {
                Some(n) => args::uint(n, "n")?,
                None => (self.size as u64).saturating_sub(offset),
            };
            self.check(offset, n)?;
            Ok((offset, n as usize))
        })()
        .or_raise(py, self.on())?;
        let data = py
            .detach(|| {
                self.buffer(|b| {
                    let mut buf = vec![0u8; n];
                    b.memory().copy_to_slice(offset, &mut buf)?;
                    Ok(buf)
                })
            })
            .or_raise(py, self.on())?;
        Ok(PyBytes::new(py, &data))
    }

    /// Copy `data` (any bytes-like object) in at `offset`.
    fn write_bytes(&self, py: Python<'_>, offset: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let offset = args::uint(offset, "offset").or_raise(py, self.on())?;
        let data = args::bytes(data)?;
        self.check(offset, data.len() as u64).or_raise(py, self.on())?;
        py.detach(|| self.buffer(|b| b.memory().copy_from_slice(offset, &data))).or_raise(py, self.on())
    }

    /// Unmap and free it (the device's `close()` does too). Twice does nothing.
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let _ = self.shared.with(|o| Ok(o.dma_free(self.id)));
        });
    }

    /// Whether it was closed (or its device was).
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.shared.with(|o| Ok(o.dma(self.id).is_none())).unwrap_or(true))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __len__(&self) -> usize {
        self.size
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.read_bytes(py, None, None)
    }

    fn __repr__(&self) -> String {
        format!("<mmiodrv.DmaBuffer {} IOVA {:#x} ({} bytes)>", self.shared.name, self.iova, self.size)
    }
}

impl Drop for DmaBuffer {
    /// A buffer dropped by Python is unmapped at once, unless the device is
    /// busy in another thread (then at the device's close).
    fn drop(&mut self) {
        self.shared.try_with(|o| o.dma_free(self.id));
    }
}
