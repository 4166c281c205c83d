#!/usr/bin/env python3
"""Drive a device through one mmiodrv process: the pipe protocol of
`mmiodrv batch -` (docs/batch.md), from Python's standard library only.

One process holds the device open for the whole session (one VFIO open, one
mapping), so interrupts armed on one line can be waited for on a later one,
and each call costs microseconds instead of a process start. With --json,
every line sent gets exactly one JSON line back, errors included.

    examples/batch_pipe.py 0000:00:04.0          # edu: ID, liveness, factorial
    examples/batch_pipe.py sim:tests/data/edu/edu.svd
    MMIODRV=target/debug/mmiodrv examples/batch_pipe.py DEVICE
"""

import json
import os
import subprocess
import sys


class DeviceError(Exception):
    """An operation mmiodrv refused or that failed; `exit` is its exit status."""

    def __init__(self, reply):
        super().__init__(reply["error"])
        self.exit = reply["exit"]
        self.line = reply["line"]


class Device:
    """One device, opened once by one `mmiodrv batch -` process."""

    def __init__(self, device, mmiodrv=None):
        mmiodrv = mmiodrv or os.environ.get("MMIODRV", "mmiodrv")
        # --keep-going: an error is one reply (raised here), not the end of the session.
        self._proc = subprocess.Popen(
            [mmiodrv, "--device", device, "--json", "batch", "--keep-going", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def call(self, line):
        """Send one line of the batch language; return its reply (a dict)."""
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        reply = self._proc.stdout.readline()
        if not reply:
            raise DeviceError({"error": "mmiodrv ended", "exit": self._proc.wait(), "line": None})
        reply = json.loads(reply)
        if "error" in reply:
            raise DeviceError(reply)
        return reply

    def read(self, target):
        return self.call(f"read {target}")["value"]

    def write(self, target, value):
        self.call(f"write {target} {value:#x}")

    def close(self):
        """End the session; returns mmiodrv's exit status (that of the first error, if any)."""
        self._proc.stdin.close()
        return self._proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} DEVICE (an edu device, or sim:tests/data/edu/edu.svd)")
    with Device(sys.argv[1]) as edu:
        ident = edu.read("ID")
        print(f"ID {ident:#010x}: edu {ident >> 24}.{(ident >> 16) & 0xFF}")
        for value in (0x12345678, 0xCAFE):
            edu.write("LIVENESS", value)
            print(f"LIVENESS <- {value:#x}, reads {edu.read('LIVENESS'):#010x}")
        try:
            edu.write("ID", 1)
        except DeviceError as e:
            print(f"refused (exit {e.exit}): {e}")
        print(f"ID.MAJOR {edu.read('ID.MAJOR')}")


if __name__ == "__main__":
    main()
