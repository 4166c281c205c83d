"""Types of mmiodrv._native, the Rust extension (re-exported by mmiodrv).

The classes of the built-in drivers' commands at the end are generated from
their declarations by mmiodrv._native._command_stubs(); the host tests of
tests/vm_python.rs check that this file has them as generated.
"""

import builtins
import os
from types import TracebackType
from typing import Any, Iterator, Literal, overload

__version__: str

Backend = Literal["auto", "vfio", "uio", "sysfs"]
IrqKind = Literal["intx", "msi", "msix"]
Width = Literal[8, 16, 32, 64]
BytesLike = bytes | bytearray | memoryview

@overload
def open(
    device: str,
    backend: Backend = "auto",
    regmap: str | os.PathLike[str] | None = None,
    force: bool = False,
    block: str | None = None,
    host: None = None,
    copy: bool = True,
) -> Device: ...
@overload
def open(
    device: str,
    backend: Backend = "auto",
    regmap: str | os.PathLike[str] | None = None,
    force: bool = False,
    block: str | None = None,
    *,
    host: str,
    copy: bool = True,
) -> RemoteDevice:
    """Open a device: a PCI address ("0000:00:04.0", "00:04.0") or IDs
    ("1234:11e8") matching exactly one device. backend "auto" follows the bound
    kernel driver (vfio-pci: "vfio", uio_pci_generic: "uio", none: "sysfs").
    regmap: a register-map file (TOML, IP-XACT, SVD, SystemRDL or LiteX) for its
    BAR instead of the built-in map, block the block of a file with several;
    checked before the device is opened. force overrides the refusals (another
    kernel driver bound, decoding off, the map's width rules for raw offsets).
    Each access and each driver command holds the device's lock between
    processes for its own duration, as one mmiodrv command does (an access
    shares it, a driver command has the device to itself; a holder that keeps
    it over 2 s raises RefusedError naming its pid); force=True skips it.

    host="[USER@]HOST[:PORT]" opens it on that machine over ssh: a RemoteDevice
    (docs/remote.md); copy=False refuses to copy a static mmiodrv there when it
    has none of this version."""

def list() -> builtins.list[dict[str, Any]]:
    """Every PCI function, with the fields of `mmiodrv list --json`: device,
    ids, vendor_id, device_id, class (numbers), class_name, vendor_name,
    device_name, description, kernel_driver, iommu_group, mmiodrv_driver,
    parent. Reads sysfs only."""

def _error_classes() -> builtins.list[tuple[str, int]]: ...
def _command_stubs() -> str: ...

class Interrupt:
    """One interrupt, as wait_irq returns it."""

    kind: IrqKind
    vector: int
    count: int

class Device(_DriverCommands):
    """An opened device; close it with close() or a with block (for VFIO that
    releases the group). Its Bar, Registers and DmaBuffer objects stop working
    when it closes."""

    @property
    def name(self) -> str:
        """The device, as messages name it ("0000:00:04.0")."""
    @property
    def address(self) -> str | None:
        """Its PCI address."""
    @property
    def backend(self) -> Literal["vfio", "uio", "sysfs"]:
        """The backend reaching it."""
    @property
    def driver(self) -> str | None:
        """The built-in driver that knows it ("edu", "ivshmem", "e1000")."""
    @property
    def closed(self) -> bool: ...
    @property
    def bars(self) -> builtins.list[dict[str, Any]]:
        """Its BARs: index, kind, address, len (its size in bytes), is_64bit, prefetchable."""
    def run(self, line: str) -> builtins.list[dict[str, Any]]:
        """Run one line of the session language ("read ID", "edu factorial 5"),
        as a script or the pipe protocol does: each result as the dict --json
        prints (with its "op")."""
    def read(self, target: str | int, width: Width | None = None, bar: int | None = None) -> int:
        """Read a register ("ID"), a field ("ID.MAJOR") or an offset (0x0;
        width in bits, default 32): exactly one access of the declared width."""
    def write(self, target: str | int, value: int | str, width: Width | None = None, bar: int | None = None) -> None:
        """Write a register, a field (read-modify-write that changes no other
        field) or an offset; checked before anything is written. A str value
        is a number as the command line writes it ("0x10") or the name of one
        of the field's values ("fast")."""
    def dump(self, all: bool = False, bar: int | None = None) -> builtins.list[dict[str, Any]]:
        """Every register of the map, decoded. Write-only registers and those
        whose read has side effects are not read (value None, skipped says
        why) unless all=True."""
    @property
    def regs(self) -> Registers:
        """The map's registers by attribute: dev.regs.ID.value, dev.regs.ID.MAJOR."""
    def bar(self, index: int) -> Bar:
        """A BAR, for raw accesses and bulk copies."""
    def arm_irq(self, kind: IrqKind | None = None) -> tuple[IrqKind, int]:
        """Arm interrupts (kind None: the best there is) until close(),
        disarm_irq() or a driver command (those arm their own): (kind, vectors)."""
    def disarm_irq(self) -> bool: ...
    def wait_irq(self, timeout: float | None = 1.0, vector: int | None = None, kind: IrqKind | None = None) -> Interrupt:
        """Wait up to timeout seconds (default 1) for vector (None: any),
        arming first if nothing is armed. Raises mmiodrv.TimeoutError."""
    def dma_buffer(self, size: int, iova: int | None = None, mask_bits: int | None = None) -> DmaBuffer:
        """RAM the device reaches at .iova through the IOMMU (VFIO only); iova
        None: the lowest free one from 2 MiB up, under a DMA mask of mask_bits
        (default 64)."""
    def close(self) -> None: ...
    def __enter__(self) -> Device: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

class RemoteDevice(_DriverCommands):
    """A device on another machine, reached over ssh: each call is a line of
    the pipe protocol there (the session holds the device until close())."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def run(self, line: str) -> builtins.list[dict[str, Any]]: ...
    def run_many(self, lines: builtins.list[str]) -> builtins.list[builtins.list[dict[str, Any]]]:
        """Send every line before reading the replies (pipelining)."""
    def read(self, target: str | int, width: Width | None = None, bar: int | None = None) -> int: ...
    def write(self, target: str | int, value: int | str, width: Width | None = None, bar: int | None = None) -> None: ...
    def dump(self, all: bool = False, bar: int | None = None) -> builtins.list[dict[str, Any]]: ...
    def arm_irq(self, kind: IrqKind | None = None) -> tuple[str, int]: ...
    def wait_irq(self, timeout: float | None = None, vector: int | None = None, kind: IrqKind | None = None) -> Interrupt: ...
    def dma_buffer(self, size: int, iova: int | None = None, mask_bits: int | None = None) -> RemoteDmaBuffer: ...
    def close(self) -> None: ...
    def __enter__(self) -> RemoteDevice: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

class RemoteDmaBuffer:
    @property
    def iova(self) -> int: ...
    @property
    def size(self) -> int: ...
    def read_bytes(self, offset: int, n: int) -> bytes: ...
    def write_bytes(self, offset: int, data: bytes) -> None: ...

class RemoteCommands:
    def __getattr__(self, name: str) -> Any: ...

class RemoteCommandFn:
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

class Registers:
    """The registers of a map, by attribute or name (never reads the device)."""

    def __getattr__(self, name: str) -> Register: ...
    def __getitem__(self, name: str) -> Register: ...
    def __contains__(self, name: str) -> bool: ...
    def __iter__(self) -> Iterator[Register]: ...
    def __len__(self) -> int: ...

class Register:
    """One register: .value reads it (one access), assigning .value writes it;
    a field's name reads or writes that field."""

    name: str
    offset: int
    width: int
    access: Literal["RO", "RW", "WO", "RW1C"]
    read_side_effects: bool
    description: str
    fields: builtins.list[str]
    value: int
    def read(self) -> int: ...
    def write(self, value: int | str) -> None: ...
    def decode(self) -> dict[str, int]:
        """Read once and decode every field."""
    def __int__(self) -> int: ...
    def __getattr__(self, field: str) -> int: ...
    def __setattr__(self, name: str, value: int | str) -> None: ...

class Bar:
    """One BAR of an opened device."""

    index: int
    size: int
    def read(self, offset: int, width: Width | None = None) -> int:
        """One access of width bits (default 32) at offset."""
    def write(self, offset: int, value: int, width: Width | None = None) -> None: ...
    def read_bytes(self, offset: int, n: int) -> bytes:
        """n bytes by the bulk-copy path (BARs without a register map)."""
    def write_bytes(self, offset: int, data: BytesLike) -> None: ...
    def __len__(self) -> int: ...

class DmaBuffer:
    """RAM the device reaches at iova through the IOMMU."""

    iova: int
    size: int
    @property
    def closed(self) -> bool: ...
    def read_bytes(self, offset: int | None = None, n: int | None = None) -> bytes: ...
    def write_bytes(self, offset: int, data: BytesLike) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> DmaBuffer: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...

class Commands:
    """A group of a built-in driver's commands."""

    def __getattr__(self, name: str) -> Any: ...

class CommandFn:
    """One of a built-in driver's commands: returns its report(s) as dicts."""

    help: str
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

# ---- generated by mmiodrv._native._command_stubs() ----
class _EduCommands:
    def id(self) -> Any:
        """Print the ID register: version and magic"""
        ...
    def liveness(self, value: int | str = 0x12345678) -> Any:
        """Write VALUE to LIVENESS and check the device returns its inverse

        value: The value to write (32 bits)
        """
        ...
    def factorial(self, n: int | str, *, irq: bool = False, timeout: float = 5.0) -> Any:
        """Compute N! on the device (32-bit, wrapping)

        n: The number whose factorial to compute
        irq: Wait for the completion interrupt instead of polling STATUS
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...
    irq: _EduIrqCommands
    dma: _EduDmaCommands
    def status(self) -> Any:
        """Print STATUS and IRQ_STATUS"""
        ...

class _EduIrqCommands:
    def raise_(self, value: int | str, *, wait: bool = False, index: Literal["intx", "msi", "msix"] | None = None, timeout: float = 5.0) -> Any:
        """Write VALUE to IRQ_RAISE; with --wait, arm first and wait for it in this process

        value: The interrupt value to OR into IRQ_STATUS
        wait: Arm interrupts first, wait for the interrupt, then acknowledge VALUE
        index: Interrupt mechanism for --wait (default: the best the backend has)
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...
    def ack(self, value: int | str) -> Any:
        """Write VALUE to IRQ_ACK (the line drops when IRQ_STATUS reaches 0)

        value: The interrupt bits to clear from IRQ_STATUS
        """
        ...

class _EduDmaCommands:
    def to_device(self, file: str | os.PathLike[str], *, offset: int | str = 0, iova: int | str | None = None, irq: bool = False, timeout: float = 5.0) -> Any:
        """Copy FILE into the device buffer

        file: The bytes to send (at most 4095)
        offset: Offset in edu's 4 KiB buffer at 0x40000; offset + length must not exceed 0xfff
        iova: IOVA of the RAM buffer: page-aligned, the buffer below 2^28 (edu's DMA mask); default 0x100000
        irq: Wait for the completion interrupt (0x100) instead of polling DMA_CMD
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...
    def from_device(self, *, len: int | str, out: str | os.PathLike[str] | None = None, offset: int | str = 0, iova: int | str | None = None, irq: bool = False, timeout: float = 5.0) -> Any:
        """Copy --len bytes out of the device buffer: to --out FILE, or a hexdump

        len: Number of bytes to copy
        out: Write the raw bytes to this file instead of a hexdump
        offset: Offset in edu's 4 KiB buffer at 0x40000; offset + length must not exceed 0xfff
        iova: IOVA of the RAM buffer: page-aligned, the buffer below 2^28 (edu's DMA mask); default 0x100000
        irq: Wait for the completion interrupt (0x100) instead of polling DMA_CMD
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...

class _IvshmemCommands:
    def info(self) -> Any:
        """Variant, shared-memory size, peer ID (IVPosition) and MSI-X vectors"""
        ...
    def read(self, *, offset: int | str = 0, len: int | str, out: str | os.PathLike[str] | None = None) -> Any:
        """Read --len bytes at --offset of the shared memory: raw into --out FILE, else a hexdump

        offset: Start offset (K/M/G suffixes allowed)
        len: Number of bytes (K/M/G suffixes allowed)
        out: Write the raw bytes to this file instead of printing a hexdump
        """
        ...
    def write(self, file: str | os.PathLike[str] | None = None, *, offset: int | str = 0, hex: str | None = None, string: str | None = None) -> Any:
        """Write the contents of FILE, --hex bytes or --string text at --offset

        offset: Start offset (K/M/G suffixes allowed)
        file: File whose bytes to write
        hex: Bytes in hex, first byte first: "deadbeef", "de ad be ef", "0xdeadbeef"
        string: UTF-8 text (no terminating NUL is added)
        """
        ...
    def fill(self, *, offset: int | str = 0, len: int | str | None = None, byte: int | str = 0) -> Any:
        """Set --len bytes at --offset (default: up to the end) to --byte

        offset: Start offset (K/M/G suffixes allowed)
        len: Number of bytes (default: from the offset to the end)
        byte: The byte value
        """
        ...
    def dump(self, *, out: str | os.PathLike[str] | None = None) -> Any:
        """The whole shared memory: raw into --out FILE, else a hexdump with repeated lines folded into '*'

        out: Write the raw bytes to this file instead of a hexdump
        """
        ...
    def bench(self, *, size: int | str | None = None, rounds: int | str = 20, live: bool = False) -> Any:
        """Time bulk copies into and out of the shared memory against memcpy between two RAM buffers (the memory's contents are saved and restored)

        size: Bytes per copy (default: the whole shared memory, at most 64M)
        rounds: Repetitions of each copy; the fastest counts
        live: Run even when a peer is writing the memory (its writes during the run are lost when the saved contents are put back)
        """
        ...
    def doorbell(self, peer: int | str, vector: int | str) -> Any:
        """Ring VECTOR of PEER through the DOORBELL register (ivshmem-doorbell)

        peer: The peer ID to interrupt
        vector: Its vector
        """
        ...
    def wait(self, *, vector: int | str | None = None, timeout: float = 5.0) -> Any:
        """Wait for a doorbell on this device's MSI-X vectors (ivshmem-doorbell bound to vfio-pci)

        vector: Only this vector counts (default: any)
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...
    client: _IvshmemClientCommands

class _IvshmemClientCommands:
    def peers(self) -> Any:
        """Connect and list the peers the server announces"""
        ...
    def ring(self, peer: int | str, vector: int | str) -> Any:
        """Ring VECTOR of PEER

        peer: The peer ID to interrupt
        vector: Its vector
        """
        ...
    def wait(self, *, vector: int | str | None = None, timeout: float = 5.0) -> Any:
        """Connect, print our peer ID, and wait for one of our vectors to be rung

        vector: Only this vector counts (default: any)
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...

class _E1000Commands:
    def mac(self, *, eeprom: bool = False) -> Any:
        """Print the MAC address: receive address 0 (RAL0/RAH0) and the EEPROM's copy (through EERD)

        eeprom: Only the EEPROM's copy (works before a driver has programmed RAL0/RAH0)
        """
        ...
    def link(self) -> Any:
        """Print link state, speed and duplex (STATUS)"""
        ...
    def tx(self, *, count: str, size: str = "60", dst: str = "ff:ff:ff:ff:ff:ff", poll: bool = False, irq: bool = False, ring: str = "256", timeout: float = 10.0) -> Any:
        """Send frames through the transmit ring (VFIO): count, bytes, drops and rate

        count: Number of frames (at least 1)
        size: Frame length in bytes, 60 to 1514 (the device adds the 4-byte CRC)
        dst: Destination MAC address (default: broadcast)
        poll: Polling mode: read the descriptors' DD bits in a loop (the default)
        irq: Interrupt mode: sleep until the device's interrupt (INTx through VFIO), then read ICR
        ring: Descriptors per ring: a power of two, 8 to 4096
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        """
        ...
    def rx(self, *, count: str, timeout: float = 10.0, poll: bool = False, irq: bool = False, dump: bool = False, ring: str = "256") -> Any:
        """Receive frames through the receive ring (VFIO): count, bytes, drops and rate; --dump prints them

        count: Number of frames (at least 1)
        timeout: Give up after this many seconds (raises mmiodrv.TimeoutError)
        poll: Polling mode: read the descriptors' DD bits in a loop (the default)
        irq: Interrupt mode: sleep until the device's interrupt (INTx through VFIO), then read ICR
        dump: Print every frame: addresses, EtherType and a hexdump (in JSON: hex)
        ring: Descriptors per ring: a power of two, 8 to 4096
        """
        ...
    def stats(self) -> Any:
        """Print the statistics registers (frames and octets sent and received, missed, errors); reading clears them"""
        ...

class _DriverCommands:
    edu: _EduCommands
    ivshmem: _IvshmemCommands
    e1000: _E1000Commands
# ---- end of generated part ----
