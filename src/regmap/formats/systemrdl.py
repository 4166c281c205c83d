# mmiodrv's SystemRDL reader: compiles FILE with systemrdl-compiler (the
# reference compiler, which `peakrdl` runs too) and prints one JSON object on
# stdout: {"blocks": [...]} in the normalized reading's shape
# (tests/data/README.md) plus "line" and "description" keys, or
# {"error": {"line": N, "message": "..."}}. Exit 3 when the compiler is not
# installed. Run by mmiodrv as: PYTHON -c SCRIPT FILE.
import json
import sys

try:
    from systemrdl import RDLCompiler, RDLCompileError
    from systemrdl.messages import MessagePrinter, Severity
    from systemrdl.node import AddrmapNode, MemNode, RegNode, AddressableNode
    from systemrdl.rdltypes import AccessType, OnReadType, OnWriteType
except ImportError as e:
    sys.stderr.write("systemrdl-compiler is not installed: %s\n" % e)
    sys.exit(3)

SEP = "_"
path = sys.argv[1]
# What a map file may expand to (mmiodrv's MAX_FILE_REGISTERS and
# MAX_FILE_ELEMENTS), counted before any array is unrolled.
MAX_REGISTERS = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 18
MAX_ELEMENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
problems = []


class Printer(MessagePrinter):
    def print_message(self, severity, text, src_ref):
        if severity >= Severity.ERROR:
            line = getattr(src_ref, "line", None) if src_ref is not None else None
            fpath = getattr(src_ref, "path", None) if src_ref is not None else None
            problems.append({"line": line or 1, "file": fpath, "message": text})


def line_of(node):
    ref = node.inst.inst_src_ref or node.inst.def_src_ref
    try:
        return ref.line if ref is not None else 1
    except Exception:
        return 1


def text(node, prop):
    v = node.get_property(prop, default=None)
    return " ".join(str(v).split()) if v else ""


SW = {AccessType.rw: "RW", AccessType.r: "RO", AccessType.w: "WO",
      AccessType.rw1: "RW1", AccessType.w1: "W1", AccessType.na: "NA"}
ONREAD = {OnReadType.rclr: "clear", OnReadType.rset: "set", OnReadType.ruser: "modify"}
ONWRITE = {OnWriteType.woclr: "oneToClear", OnWriteType.woset: "oneToSet",
           OnWriteType.wot: "oneToToggle", OnWriteType.wzc: "zeroToClear",
           OnWriteType.wzs: "zeroToSet", OnWriteType.wzt: "zeroToToggle",
           OnWriteType.wclr: "clear", OnWriteType.wset: "set", OnWriteType.wuser: "modify"}


def big_endian(node):
    n = node
    while n is not None and not isinstance(n, AddrmapNode):
        n = n.parent
    return bool(n is not None and n.get_property("bigendian"))


def count(node):
    """(registers, elements) `node` unrolls to, without unrolling it."""
    n = 1
    if getattr(node, "is_array", False):
        for d in node.array_dimensions or []:
            n *= d
    if isinstance(node, RegNode):
        fields = list(node.fields())
        enums = 0
        for f in fields:
            enc = f.get_property("encode")
            enums += len(list(enc)) if enc is not None else 0
        return n, n * (1 + len(fields) + enums)
    regs = elems = 0
    for c in node.children(unroll=False):
        if isinstance(c, AddressableNode):
            r, e = count(c)
            regs += r
            elems += e
            if regs > MAX_REGISTERS or elems > MAX_ELEMENTS:
                break
    return n * regs, n * elems


def read(top):
    # Blocks: PeakRDL-ipxact's rule (tests/data/README.md, "Blocks").
    kids = [c for c in top.children() if isinstance(c, AddressableNode)]
    explode = bool(kids) and all(isinstance(c, (AddrmapNode, MemNode)) and not c.is_array for c in kids)
    blocks = []
    for b in (kids if explode else [top]):
        base = b.absolute_address
        regs = []
        if not isinstance(b, MemNode):
            for node in b.descendants(unroll=True):
                if not isinstance(node, RegNode):
                    continue
                p, in_mem = node.parent, False
                while p is not None and p is not b:
                    in_mem = in_mem or isinstance(p, MemNode)
                    p = p.parent
                if in_mem:
                    continue
                fields = []
                for f in node.fields():
                    reset = f.get_property("reset")
                    enc = f.get_property("encode")
                    fields.append({
                        "name": f.inst_name, "lsb": f.low, "msb": f.high,
                        "access": SW[f.get_property("sw")],
                        "reset": reset if isinstance(reset, int) and not isinstance(reset, bool) else None,
                        "read_action": ONREAD.get(f.get_property("onread"), "none"),
                        "write_semantics": ONWRITE.get(f.get_property("onwrite"), "normal"),
                        "enums": [{"value": m.value, "name": m.name} for m in enc] if enc is not None else [],
                        "description": text(f, "desc") or text(f, "name"),
                        "line": line_of(f),
                    })
                aw = node.get_property("accesswidth")
                width = node.get_property("regwidth")
                regs.append({
                    "name": node.get_rel_path(b, hier_separator=SEP),
                    "offset": node.absolute_address - base,
                    "width": width,
                    "access_width": aw or width,
                    "word_order": "big" if big_endian(node) else "little",
                    "fields": fields,
                    "description": text(node, "desc") or text(node, "name"),
                    "line": line_of(node),
                })
        blocks.append({"name": b.inst_name, "base": base, "registers": regs,
                       "description": text(b, "desc") or text(b, "name"), "line": line_of(b)})
    return blocks


rdlc = RDLCompiler(message_printer=Printer())
try:
    rdlc.compile_file(path)
    root = rdlc.elaborate()
    regs, elems = count(root.top)
    if regs > MAX_REGISTERS:
        out = {"error": {"line": line_of(root.top), "message": "its arrays expand to %d registers; a map file may hold at most %d (counted before expanding)" % (regs, MAX_REGISTERS)}}
    elif elems > MAX_ELEMENTS:
        out = {"error": {"line": line_of(root.top), "message": "its arrays expand to %d registers, fields and enumerated values; a map file may hold at most %d (counted before expanding)" % (elems, MAX_ELEMENTS)}}
    else:
        out = {"name": root.top.inst_name, "blocks": read(root.top)}
except RDLCompileError:
    p = problems[0] if problems else {"line": 1, "message": "compilation failed"}
    if p.get("file") and p["file"] != path:
        p["message"] = "%s:%s: %s" % (p["file"], p["line"], p["message"])
        p["line"] = 1
    out = {"error": {"line": p["line"], "message": p["message"]}}
json.dump(out, sys.stdout)
