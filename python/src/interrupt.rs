//! One interrupt as `wait_irq` returns it, on a local or a remote device.

use pyo3::prelude::*;

/// One interrupt as `wait_irq` returns it.
#[pyclass(module = "mmiodrv", frozen, get_all)]
pub struct Interrupt {
    /// "intx", "msi" or "msix".
    pub kind: String,
    /// The vector that fired (0 for INTx).
    pub vector: u32,
    /// How many times it fired since the previous wait returned it.
    pub count: u64,
}

#[pymethods]
impl Interrupt {
    fn __repr__(&self) -> String {
        format!("Interrupt(kind='{}', vector={}, count={})", self.kind, self.vector, self.count)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Interrupt>().is_ok_and(|o| {
            let o = o.get();
            (o.kind.as_str(), o.vector, o.count) == (self.kind.as_str(), self.vector, self.count)
        })
    }
}
