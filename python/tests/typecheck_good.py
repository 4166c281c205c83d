"""Uses of the module that must type-check with `mypy --strict` against its
stubs (tests/vm_python.rs, host::stubs_type_check). Never run."""

import mmiodrv


def main() -> None:
    with mmiodrv.open("0000:00:04.0", backend="vfio") as dev:
        ident: int = dev.read("ID")
        major: int = dev.regs.ID.MAJOR
        dev.regs.LIVENESS.value = 5
        dev.write("DMA_CMD.DIRECTION", 1)
        dev.write("DMA_CMD.DIRECTION", "device to RAM")
        fields: dict[str, int] = dev.regs.STATUS.decode()
        irq = dev.wait_irq(timeout=1.0)
        kind: str = irq.kind
        buf = dev.dma_buffer(4096, mask_bits=28)
        data: bytes = buf.read_bytes(0, 16)
        dev.bar(2).write_bytes(0, data)
        report = dev.edu.factorial(10, irq=True, timeout=2.0)
        dev.edu.irq.raise_(0x40, wait=True, index="msi")
        dev.edu.dma.from_device(len=16, offset=0x100)
        dev.e1000.mac()
        dev.ivshmem.write(string="hello", offset=0x100)
        print(ident, major, fields, kind, report, mmiodrv.list()[0]["device"])
    try:
        mmiodrv.open("00:04")
    except mmiodrv.UsageError as e:
        code: int = e.exit_code
        print(code, e.device, e.remedy)
    with mmiodrv.open("0000:00:04.0", host="root@lab1:2222", copy=False) as far:
        value: int = far.read("ID.MAGIC")
        far.write("LIVENESS", 1)
        far.write("DMA_CMD.DIRECTION", "device to RAM")
        replies: list[list[dict[str, object]]] = far.run_many(["read ID", "read STATUS"])
        far_buf = far.dma_buffer(4096, mask_bits=28)
        far_buf.write_bytes(0, b"x")
        far_data: bytes = far_buf.read_bytes(0, 1)
        print(value, replies, far_data, far.host, far.edu.factorial(5))
    try:
        mmiodrv.open("0000:00:04.0", host="lab9")
    except (mmiodrv.UnreachableError, mmiodrv.DisconnectedError) as e:
        print(e.exit_code, isinstance(e, ConnectionError))
