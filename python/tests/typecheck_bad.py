"""Mistakes `mypy --strict` must report from the stubs, one per line marked
`# error` (tests/vm_python.rs, host::stubs_type_check). Never run."""

import mmiodrv

dev: mmiodrv.Device = mmiodrv.open("0000:00:04.0", backend="dpdk")  # error: call-overload
x: str = dev.read("ID")  # error: assignment
dev.edu.factorial(10, irq="yes")  # error: arg-type
dev.edu.irq.raise_(0x40, index="msx")  # error: arg-type
dev.wait_irq(vector="zero")  # error: arg-type
dev.edu.nope()  # error: attr-defined
dev.bar(2).write_bytes(0, "text")  # error: arg-type
