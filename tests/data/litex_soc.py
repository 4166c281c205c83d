#!/usr/bin/env python3
"""Has LiteX (PyPI litex, pinned in tests/data/requirements.txt) write the CSR
map of a small CPU-less SoC: csr.csv, csr.json and csr.svd, with no FPGA
toolchain. Run by tests/data/fetch.sh:

    target/regmap-data/venv/bin/python tests/data/litex_soc.py OUTDIR

The platform is a Lattice ECP5 one only because LiteX needs some platform: the
Builder runs with compile_gateware=False (and run=False), so the toolchain is
never called; it writes Verilog and a build script under OUTDIR/build that
nothing uses.

What the SoC holds, for the importers' tests:
  ctrl        LiteX's own control block (reset, scratch, bus_errors)
  identifier  the identifier string, a CSR-mapped memory (a csr_base with no
              csr_register lines)
  timer0      LiteX's timer, with its event manager (ev_status / ev_pending /
              ev_enable)
  demo        CSRs made here: a 1-word CSRStorage with fields, a 64-bit
              CSRStatus and a 40-bit CSRStorage (2 words each: LiteX puts the
              most significant word first), and an event manager
The CSR region starts at 0x82000000 so that base and offset differ.
"""

import os
import sys

from migen import Module

from litex.build.generic_platform import Pins
from litex.build.io import CRG
from litex.build.lattice import LatticeECP5Platform
from litex.soc.cores.timer import Timer  # noqa: F401 (with_timer=True adds timer0)
from litex.soc.integration.builder import Builder
from litex.soc.integration.soc_core import SoCCore
from litex.soc.interconnect.csr import AutoCSR, CSRField, CSRStatus, CSRStorage
from litex.soc.interconnect.csr_eventmanager import EventManager, EventSourcePulse


class Demo(Module, AutoCSR):
    def __init__(self):
        self.control = CSRStorage(description="Control", fields=[
            CSRField("enable", size=1, description="Enable"),
            CSRField("mode", size=3, offset=1, description="Mode",
                     values=[("0b000", "off"), ("0b010", "fast")]),
            CSRField("start", size=1, offset=8, pulse=True, description="Start (pulse)"),
        ])
        self.counter = CSRStatus(64, description="Free-running 64-bit counter")
        self.wide = CSRStorage(40, reset=0x12_3456_789A, description="A 40-bit value")
        self.ev = EventManager()
        self.ev.done = EventSourcePulse(description="Done")
        self.ev.finalize()


class TestSoC(SoCCore):
    mem_map = {**SoCCore.mem_map, "csr": 0x82000000}

    def __init__(self, platform):
        SoCCore.__init__(
            self, platform,
            clk_freq=int(50e6),
            cpu_type=None,
            with_uart=False,
            with_timer=True,
            integrated_rom_size=0,
            integrated_sram_size=0,
            ident="mmiodrv test SoC",
            ident_version=False,
        )
        self.crg = CRG(platform.request("clk"), platform.request("rst"))
        self.demo = Demo()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: litex_soc.py OUTDIR\n")
        return 2
    out = os.path.abspath(argv[1])
    os.makedirs(out, exist_ok=True)
    io = [("clk", 0, Pins("P3")), ("rst", 0, Pins("P4"))]
    platform = LatticeECP5Platform("LFE5U-25F-6BG381C", io, toolchain="trellis")
    soc = TestSoC(platform)
    builder = Builder(
        soc,
        output_dir=os.path.join(out, "build"),
        compile_gateware=False,
        compile_software=False,
        csr_csv=os.path.join(out, "csr.csv"),
        csr_json=os.path.join(out, "csr.json"),
        csr_svd=os.path.join(out, "csr.svd"),
    )
    builder.build(run=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
