"""mmiodrv: PCI devices through MMIO, from Python.

mmiodrv's Rust library as a module: registers by name from register maps,
always exactly one access of the declared width; VFIO, UIO and sysfs backends;
interrupts; DMA through the IOMMU; the built-in drivers' commands.

    >>> import mmiodrv
    >>> with mmiodrv.open("0000:00:04.0") as dev:
    ...     dev.read("ID")
    ...     dev.regs.ID.MAJOR
    ...     dev.edu.factorial(10)

Every failure raises a subclass of `mmiodrv.Error`, one per kind of failure,
with the one-line message the command line prints and its exit status in
`exit_code`.
"""

from __future__ import annotations

import builtins as _builtins
from typing import Optional

from . import _native
from ._native import (
    Bar,
    CommandFn,
    Commands,
    Device,
    DmaBuffer,
    Interrupt,
    Register,
    Registers,
    RemoteCommandFn,
    RemoteCommands,
    RemoteDevice,
    RemoteDmaBuffer,
    __version__,
    list,
    open,
)


class Error(Exception):
    """Any failure of mmiodrv. `str(e)` is the one line the command line
    prints (what went wrong, on which device, and what fixes it)."""

    #: The exit status of the command line for the same failure.
    exit_code: int = 1
    #: The device the error concerns ("0000:00:04.0"), when there is one.
    device: Optional[str] = None
    #: What would fix it, when something would (also at the end of the message).
    remedy: Optional[str] = None


class UsageError(Error, ValueError):
    """Bad input: a malformed address, value, width, register or field name; a
    request the map forbids (read-only, write-only, out of range). Nothing was
    done."""


class NotFoundError(Error, LookupError):
    """No such device, BAR, register or file."""


class PermissionError(Error, _builtins.PermissionError):
    """The operating system refused access (run as root, or install the udev
    rules)."""


class IoError(Error, OSError):
    """A system call failed."""


class RefusedError(Error):
    """The device (or the system around it) refuses in its current state:
    bound to another kernel driver, decoding off, busy, in use, unsupported by
    this backend, not the device expected."""


class InvalidMapError(Error, ValueError):
    """A register-map file is invalid (FILE:LINE: problem)."""


class TimeoutError(Error, _builtins.TimeoutError):
    """A wait (interrupt, factorial, DMA) ended without the event."""


class ReleasedError(Error):
    """The device is gone: closed, removed, or taken back by the kernel."""


class InterruptedError(Error, _builtins.InterruptedError):
    """A signal stopped the operation; it was rolled back or finished safely."""


class FindingsError(Error):
    """A check found what it looks for: problems (doctor) or differences (diff)."""


class DisconnectedError(Error, _builtins.ConnectionError):
    """The connection to a remote host (open(..., host=...)) was lost while a
    call ran there: it may have run in part."""


class UnreachableError(Error, _builtins.ConnectionError):
    """A remote host could not be reached or logged into, or has no mmiodrv
    of this version that can run: nothing ran there."""


def _check_error_classes() -> None:
    # One class per ErrorClass of the library, with the command line's exit status.
    for name, code in _native._error_classes():
        cls = globals().get(name)
        if not (isinstance(cls, type) and issubclass(cls, Error)):
            raise ImportError(f"mmiodrv: the native module reports error class {name}, which __init__.py lacks")
        cls.exit_code = code


_check_error_classes()

__all__ = [
    "FindingsError",
    "Bar",
    "DisconnectedError",
    "RemoteCommandFn",
    "RemoteCommands",
    "RemoteDevice",
    "RemoteDmaBuffer",
    "UnreachableError",
    "CommandFn",
    "Commands",
    "Device",
    "DmaBuffer",
    "Error",
    "Interrupt",
    "InterruptedError",
    "InvalidMapError",
    "IoError",
    "NotFoundError",
    "PermissionError",
    "RefusedError",
    "Register",
    "Registers",
    "ReleasedError",
    "TimeoutError",
    "UsageError",
    "__version__",
    "list",
    "open",
]
