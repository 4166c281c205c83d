//! `import mmiodrv` with the blinky driver: `dev.blinky.status()`,
//! `dev.write("CTRL.MODE", "fast")`, on a blinky or `mmiodrv.open("sim:blinky")`.

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    mmiodrv_python::init(m, &[&blinky::DRIVER])
}
