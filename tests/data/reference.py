#!/usr/bin/env python3
"""Reference reading of a register map, as normalized JSON (tests/data/README.md).

    target/regmap-data/venv/bin/python tests/data/reference.py FORMAT FILE

FORMAT is one of: auto, systemrdl, ipxact, svd, litex-csv, litex-json.
'auto' recognises the format by content, as `mmiodrv --regmap` will.

Which tool reads what:
  systemrdl   systemrdl-compiler's elaborated model (compile + elaborate)
  svd         cmsis-svd's parser (derivedFrom, dim and property inheritance
              expanded by it); register names/offsets inside clusters are
              recomputed from its tree (see README, "SVD")
  ipxact      this file's own reading with xml.etree (IEEE 1685-2009/2014/2022
              and SPIRIT 1.5/1.4); no IP-XACT tool reads all three
  litex-*     this file's own reading with csv / json

The output schema, the naming of arrays and nested blocks, and every other
convention are documented in tests/data/README.md ("The normalized reading").
Exit status: 0 with JSON on stdout; 2 for usage errors; 3 when the file uses
something this reader does not support (message on stderr).
"""

import csv
import io
import json
import re
import sys
import xml.etree.ElementTree as ET

SEP = "_"  # joins nested register files / clusters / sub-addrmaps with the register name


class Unsupported(Exception):
    pass


# --------------------------------------------------------------------------
# Common helpers


def access_from_rw(readable, writable, once=False):
    if readable and writable:
        return "RW1" if once else "RW"
    if readable:
        return "RO"
    if writable:
        return "W1" if once else "WO"
    return "NA"


def derive_register_access(fields):
    """Register access where the format has none: from its fields' access."""
    readable = any(f["access"] in ("RO", "RW", "RW1") for f in fields)
    writable_fields = [f for f in fields if f["access"] in ("WO", "RW", "W1", "RW1")]
    once = bool(writable_fields) and all(f["access"] in ("W1", "RW1") for f in writable_fields)
    return access_from_rw(readable, bool(writable_fields), once)


def make_field(name, lsb, msb, access, reset=None, read_action="none",
               write_semantics="normal", enums=()):
    return {
        "name": name,
        "lsb": lsb,
        "msb": msb,
        "access": access,
        "reset": reset,
        "read_action": read_action,
        "write_semantics": write_semantics,
        "enums": sorted(({"value": v, "name": n} for v, n in set(enums)),
                        key=lambda e: (e["value"], e["name"])),
    }


_SAME = object()


def make_register(name, offset, base, width, access, reset, fields,
                  access_width=None, word_order=None, read_action="none",
                  write_semantics="normal", field_reset=_SAME):
    """fields == [] gets the implicit full-width field (README: 'implicit field')."""
    if not fields:
        fields = [make_field(name, 0, width - 1, access,
                             reset=reset if field_reset is _SAME else field_reset,
                             read_action=read_action,
                             write_semantics=write_semantics)]
    access_width = access_width or width
    return {
        "name": name,
        "offset": offset,
        "address": base + offset,
        "width": width,
        "access_width": access_width,
        "word_order": word_order if access_width < width else None,
        "access": access,
        "reset": reset,
        "fields": sorted(fields, key=lambda f: (f["lsb"], f["name"])),
    }


def make_block(name, base, registers):
    return {
        "name": name,
        "base": base,
        "registers": sorted(registers, key=lambda r: (r["offset"], r["name"])),
    }


def reading(fmt, blocks):
    return {"format": fmt,
            "blocks": sorted(blocks, key=lambda b: (b["base"], b["name"]))}


def field_reset_from_register(reg_reset, reg_mask, lsb, msb):
    """Field slice of a register-level reset; None unless every bit is defined."""
    if reg_reset is None:
        return None
    fmask = (1 << (msb - lsb + 1)) - 1
    if (reg_mask >> lsb) & fmask != fmask:
        return None
    return (reg_reset >> lsb) & fmask


# --------------------------------------------------------------------------
# Format recognition (by content; README: "Recognising the format")


def detect(path):
    with open(path, "rb") as f:
        head = f.read(65536)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("<"):
        root = ET.parse(path).getroot()
        tag = root.tag
        local = tag.split("}")[-1]
        if local == "device" and not tag.startswith("{"):
            return "svd"
        if local == "component" and tag.startswith("{"):
            return "ipxact"
        raise Unsupported("XML with root element %s is neither CMSIS-SVD nor IP-XACT" % tag)
    if stripped.startswith("{"):
        d = json.loads(open(path, encoding="utf-8").read())
        if isinstance(d, dict) and "csr_registers" in d:
            return "litex-json"
        raise Unsupported("JSON without csr_registers is not a LiteX csr.json")
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if re.match(r"^(csr_base|csr_register|constant|memory_region),", s):
            return "litex-csv"
        break
    return "systemrdl"


# --------------------------------------------------------------------------
# SystemRDL: systemrdl-compiler


def read_systemrdl(path):
    from systemrdl import RDLCompiler

    rdlc = RDLCompiler()
    rdlc.compile_file(path)
    root = rdlc.elaborate()  # top = the last addrmap defined (the compiler's default)
    return reading_from_rdl(root.top)


def reading_from_rdl(top, fmt="systemrdl"):
    """Reading of an elaborated systemrdl-compiler model (top addrmap node)."""
    from systemrdl.node import AddrmapNode, MemNode, RegNode, AddressableNode
    from systemrdl.rdltypes import AccessType, OnReadType, OnWriteType

    sw_map = {AccessType.rw: "RW", AccessType.r: "RO", AccessType.w: "WO",
              AccessType.rw1: "RW1", AccessType.w1: "W1", AccessType.na: "NA"}
    onread_map = {OnReadType.rclr: "clear", OnReadType.rset: "set", OnReadType.ruser: "modify"}
    onwrite_map = {OnWriteType.woclr: "oneToClear", OnWriteType.woset: "oneToSet",
                   OnWriteType.wot: "oneToToggle", OnWriteType.wzc: "zeroToClear",
                   OnWriteType.wzs: "zeroToSet", OnWriteType.wzt: "zeroToToggle",
                   OnWriteType.wclr: "clear", OnWriteType.wset: "set",
                   OnWriteType.wuser: "modify"}

    # Blocks: PeakRDL-ipxact's rule. If every addressable child of the top
    # addrmap is a non-array addrmap or mem, each child is a block; otherwise
    # the top addrmap is the only block.
    kids = [c for c in top.children() if isinstance(c, AddressableNode)]
    explode = bool(kids) and all(isinstance(c, (AddrmapNode, MemNode)) and not c.is_array
                                 for c in kids)
    block_nodes = kids if explode else [top]

    def big_endian(node):
        n = node
        while n is not None and not isinstance(n, AddrmapNode):
            n = n.parent
        return bool(n is not None and n.get_property("bigendian"))

    blocks = []
    for bnode in block_nodes:
        base = bnode.absolute_address
        regs = []
        if not isinstance(bnode, MemNode):
            for node in bnode.descendants(unroll=True):
                if not isinstance(node, RegNode):
                    continue
                # mem nodes nested below a block are not registers (PeakRDL-ipxact drops them too)
                p, in_mem = node.parent, False
                while p is not None and p is not bnode:
                    in_mem = in_mem or isinstance(p, MemNode)
                    p = p.parent
                if in_mem:
                    continue
                fields = []
                for f in node.fields():
                    reset = f.get_property("reset")
                    enc = f.get_property("encode")
                    fields.append(make_field(
                        f.inst_name, f.low, f.high,
                        sw_map[f.get_property("sw")],
                        reset=reset if isinstance(reset, int) and not isinstance(reset, bool) else None,
                        read_action=onread_map.get(f.get_property("onread"), "none"),
                        write_semantics=onwrite_map.get(f.get_property("onwrite"), "normal"),
                        enums=[(m.value, m.name) for m in enc] if enc is not None else ()))
                width = node.get_property("regwidth")
                defined = [(fl["reset"], fl["lsb"]) for fl in fields if fl["reset"] is not None]
                reset = None
                if defined:
                    reset = 0
                    for v, lsb in defined:
                        reset |= v << lsb
                regs.append(make_register(
                    node.get_rel_path(bnode, hier_separator=SEP),
                    node.absolute_address - base, base, width,
                    derive_register_access(fields), reset, fields,
                    access_width=node.get_property("accesswidth"),
                    word_order="big" if big_endian(node) else "little"))
        blocks.append(make_block(bnode.inst_name, base, regs))
    return reading(fmt, blocks)


# --------------------------------------------------------------------------
# IP-XACT: own reading (xml.etree)

IPXACT_NAMESPACES = {
    "http://www.spiritconsortium.org/XMLSchema/SPIRIT/1.4": "spirit-1.4",
    "http://www.spiritconsortium.org/XMLSchema/SPIRIT/1.5": "spirit-1.5",
    "http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009": "ipxact-2009",
    "http://www.accellera.org/XMLSchema/IPXACT/1685-2014": "ipxact-2014",
    "http://www.accellera.org/XMLSchema/IPXACT/1685-2022": "ipxact-2022",
}

IPXACT_ACCESS = {"read-only": "RO", "write-only": "WO", "read-write": "RW",
                 "writeOnce": "W1", "read-writeOnce": "RW1", "no-access": "NA"}
MWV = {"oneToClear", "oneToSet", "oneToToggle", "zeroToClear", "zeroToSet",
       "zeroToToggle", "clear", "set", "modify"}
READ_ACTIONS = {"clear", "set", "modify"}

_SCALE = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def ipxact_int(text, what):
    """Literal integers of IP-XACT 2009 (scaledInteger) and 2014/2022 (SystemVerilog literals)."""
    if text is None:
        raise Unsupported("missing number for %s" % what)
    s = text.strip().replace("_", "")
    m = re.fullmatch(r"(\d*)'([sS]?)([hHdDbBoO])([0-9a-fA-F]+)", s)
    if m:
        radix = {"h": 16, "d": 10, "b": 2, "o": 8}[m.group(3).lower()]
        return int(m.group(4), radix)
    m = re.fullmatch(r"(0[xX]|#)([0-9a-fA-F]+)([kKmMgGtT]?)", s)
    if m:
        return int(m.group(2), 16) * _SCALE.get(m.group(3).lower(), 1)
    m = re.fullmatch(r"(\d+)([kKmMgGtT]?)", s)
    if m:
        return int(m.group(1)) * _SCALE.get(m.group(2).lower(), 1)
    if s.lower() in ("true", "false"):
        return 1 if s.lower() == "true" else 0
    raise Unsupported("%s: expression %r is not a literal (parameters and "
                      "expressions are not supported)" % (what, text))


def read_ipxact(path):
    root = ET.parse(path).getroot()
    m = re.match(r"\{([^}]*)\}component$", root.tag)
    if not m or m.group(1) not in IPXACT_NAMESPACES:
        raise Unsupported("not an IP-XACT component: root %s" % root.tag)
    ns = "{%s}" % m.group(1)
    fmt = IPXACT_NAMESPACES[m.group(1)]
    v2022 = fmt == "ipxact-2022"
    field_level_resets = fmt in ("ipxact-2014", "ipxact-2022")

    def find(el, *names):
        for n in names:
            el = el.find(ns + n) if el is not None else None
        return el

    def text(el, *names):
        e = find(el, *names)
        return e.text.strip() if e is not None and e.text is not None else None

    def present(el):
        t = text(el, "isPresent")
        return t is None or ipxact_int(t, "isPresent") != 0

    def access_of(el, level):
        """Declared access of a block, register or field (None if not declared)."""
        if v2022:
            if level == "field":
                pols = el.findall(ns + "fieldAccessPolicies/" + ns + "fieldAccessPolicy")
            else:
                pols = el.findall(ns + "accessPolicies/" + ns + "accessPolicy")
            pols = [p for p in pols if p.find(ns + "modeRef") is None] or pols
            if not pols:
                return None, None
            return text(pols[0], "access"), pols[0]
        return text(el, "access"), el

    def acc(v, where):
        if v not in IPXACT_ACCESS:
            raise Unsupported("%s: unknown access %r" % (where, v))
        return IPXACT_ACCESS[v]

    def dims(el):
        if v2022:
            arr = find(el, "array")
            if arr is None:
                return [], None
            ds = [ipxact_int(d.text, "dim") for d in arr.findall(ns + "dim")]
            st = text(arr, "stride")
            return ds, (ipxact_int(st, "stride") if st is not None else None)
        return [ipxact_int(d.text, "dim") for d in el.findall(ns + "dim")], None

    def indices(ds):
        if not ds:
            yield 0, ""
            return
        total = 1
        for d in ds:
            total *= d
        for flat in range(total):
            idx, rest = [], flat
            for d in reversed(ds):
                idx.append(rest % d)
                rest //= d
            yield flat, "".join("[%d]" % i for i in reversed(idx))

    blocks = []

    for mmap in root.findall(ns + "memoryMaps/" + ns + "memoryMap"):
        if not present(mmap):
            continue
        if mmap.find(ns + "bank") is not None or mmap.find(ns + "subspaceMap") is not None:
            raise Unsupported("memoryMap %s: bank / subspaceMap are not supported" % text(mmap, "name"))
        if find(mmap, "memoryMapDefinitionRef") is not None:
            raise Unsupported("memoryMapDefinitionRef (typeDefinitions) is not supported")
        aub = ipxact_int(text(mmap, "addressUnitBits") or "8", "addressUnitBits")
        if aub % 8:
            raise Unsupported("addressUnitBits %d is not a multiple of 8" % aub)
        unit = aub // 8  # bytes per address unit

        for ab in mmap.findall(ns + "addressBlock"):
            if not present(ab):
                continue
            if find(ab, "addressBlockDefinitionRef") is not None or find(ab, "array") is not None:
                raise Unsupported("addressBlock definitions / arrays are not supported")
            base = ipxact_int(text(ab, "baseAddress"), "baseAddress") * unit
            block_access, _ = access_of(ab, "block")
            regs = []

            def read_register(reg, prefix, offset_units):
                if find(reg, "registerDefinitionRef") is not None:
                    raise Unsupported("registerDefinitionRef (typeDefinitions) is not supported")
                name = text(reg, "name")
                size = ipxact_int(text(reg, "size"), name + "/size")
                ds, stride = dims(reg)
                if stride is None:
                    stride = size // aub
                reg_decl, reg_pol = access_of(reg, "register")
                reg_access = acc(reg_decl, name) if reg_decl else None
                reg_reset = reg_mask = None
                if not field_level_resets and find(reg, "reset") is not None:
                    reg_reset = ipxact_int(text(reg, "reset", "value"), name + "/reset")
                    mt = text(reg, "reset", "mask")
                    reg_mask = ipxact_int(mt, name + "/mask") if mt is not None else (1 << size) - 1
                    reg_reset &= reg_mask
                    if reg_mask == 0:  # no bit has a defined reset value
                        reg_reset = None
                fields = []
                for fl in reg.findall(ns + "field"):
                    if not present(fl):
                        continue
                    fname = text(fl, "name")
                    if find(fl, "fieldDefinitionRef") is not None or find(fl, "aliasOf") is not None:
                        raise Unsupported("%s.%s: fieldDefinitionRef / aliasOf not supported" % (name, fname))
                    if find(fl, "array") is not None:
                        raise Unsupported("%s.%s: field arrays are not supported" % (name, fname))
                    lsb = ipxact_int(text(fl, "bitOffset"), fname + "/bitOffset")
                    width = ipxact_int(text(fl, "bitWidth"), fname + "/bitWidth")
                    msb = lsb + width - 1
                    fdecl, fpol = access_of(fl, "field")
                    if fdecl:
                        faccess = acc(fdecl, fname)
                    elif reg_access:
                        faccess = reg_access
                    elif block_access:
                        faccess = acc(block_access, text(ab, "name"))
                    else:
                        faccess = "RW"
                    src = fpol if fpol is not None else fl
                    mwv = text(src, "modifiedWriteValue") if src is not None else None
                    ra = text(src, "readAction") if src is not None else None
                    if mwv is not None and mwv not in MWV:
                        raise Unsupported("%s.%s: modifiedWriteValue %r" % (name, fname, mwv))
                    if ra is not None and ra not in READ_ACTIONS:
                        raise Unsupported("%s.%s: readAction %r" % (name, fname, ra))
                    if field_level_resets:
                        freset = None
                        rs = fl.findall(ns + "resets/" + ns + "reset")
                        rs = [r for r in rs if r.get("resetTypeRef") is None] or []
                        if rs:
                            fmask = (1 << width) - 1
                            v = ipxact_int(text(rs[0], "value"), fname + "/reset")
                            mt = text(rs[0], "mask")
                            m_ = ipxact_int(mt, fname + "/mask") & fmask if mt is not None else fmask
                            freset = (v & m_, m_) if m_ else None
                    else:
                        freset = None
                    enums = []
                    for ev in fl.findall(ns + "enumeratedValues/" + ns + "enumeratedValue"):
                        enums.append((ipxact_int(text(ev, "value"), fname + "/enum"), text(ev, "name")))
                    if find(fl, "enumeratedValues", "enumerationDefinitionRef") is not None:
                        raise Unsupported("enumerationDefinitionRef is not supported")
                    fields.append((fname, lsb, msb, faccess, freset, ra or "none", mwv or "normal", enums))

                for flat, suffix in indices(ds):
                    off = (offset_units + flat * stride) * unit
                    fl_out = []
                    reset = reg_reset
                    if field_level_resets:
                        if any(f[4] is not None for f in fields):
                            reset = 0
                            for f in fields:
                                if f[4] is not None:
                                    reset |= f[4][0] << f[1]
                        else:
                            reset = None
                    for (fname, lsb, msb, faccess, freset, ra, mwv, enums) in fields:
                        if field_level_resets:
                            fr = None
                            if freset is not None and freset[1] == (1 << (msb - lsb + 1)) - 1:
                                fr = freset[0]
                        else:
                            fr = field_reset_from_register(reg_reset, reg_mask or 0, lsb, msb)
                        fl_out.append(make_field(fname, lsb, msb, faccess, fr, ra, mwv, enums))
                    if reg_access is None:
                        r_access = derive_register_access(fl_out) if fl_out else (
                            acc(block_access, text(ab, "name")) if block_access else "RW")
                    else:
                        r_access = reg_access
                    regs.append(make_register(
                        prefix + name + suffix, off, base, size, r_access, reset, fl_out,
                        field_reset=(reset if field_level_resets else
                                     field_reset_from_register(reg_reset, reg_mask or 0, 0, size - 1))))

            def read_container(el, prefix, offset_units):
                for child in el:
                    tag = child.tag[len(ns):] if child.tag.startswith(ns) else None
                    if tag not in ("register", "registerFile") or not present(child):
                        continue
                    off = ipxact_int(text(child, "addressOffset"), "addressOffset")
                    if tag == "register":
                        read_register(child, prefix, offset_units + off)
                    else:
                        rname = text(child, "name")
                        if find(child, "registerFileDefinitionRef") is not None:
                            raise Unsupported("registerFileDefinitionRef is not supported")
                        ds, stride = dims(child)
                        if stride is None:
                            stride = ipxact_int(text(child, "range"), rname + "/range")
                        for flat, suffix in indices(ds):
                            read_container(child, prefix + rname + suffix + SEP,
                                           offset_units + off + flat * stride)

            read_container(ab, "", 0)
            blocks.append(make_block(text(ab, "name"), base, regs))
    return reading(fmt, blocks)


# --------------------------------------------------------------------------
# CMSIS-SVD: cmsis-svd


def read_svd(path):
    from cmsis_svd.parser import SVDParser
    from cmsis_svd.model import (SVDRegister, SVDRegisterArray, SVDRegisterCluster,
                                 SVDRegisterClusterArray, SVDPeripheralArray)

    import contextlib
    with contextlib.redirect_stdout(sys.stderr):  # cmsis-svd prints its warnings to stdout
        device = SVDParser.for_xml_file(path).get_device(xml_validation=False)
    aub = device.address_unit_bits or 8
    if aub != 8:
        raise Unsupported("addressUnitBits %d (only 8 is supported)" % aub)

    access_map = {"read-only": "RO", "write-only": "WO", "read-write": "RW",
                  "writeOnce": "W1", "read-writeOnce": "RW1"}

    def enum_val(v):
        return v.value if hasattr(v, "value") else v

    def reg_entry(r, name, offset, base):
        size = r.size
        if size is None:
            raise Unsupported("register %s has no size" % name)
        raccess = access_map[enum_val(r.access)] if r.access is not None else "RW"
        mask = r.reset_mask if r.reset_mask is not None else (1 << size) - 1
        reset = (r.reset_value & mask) if r.reset_value is not None and mask else None
        reg_ra = enum_val(r.read_action) if r.read_action is not None else "none"
        reg_mwv = enum_val(r.modified_write_values) if r.modified_write_values is not None else "normal"
        fields = []
        for f in r.get_fields():
            lsb, msb = f.bit_offset, f.bit_offset + f.bit_width - 1
            enums = []
            for evs in (f.enumerated_values or []):
                for ev in (evs.enumerated_values or []):
                    if ev.value is None:  # isDefault entries carry no value
                        continue
                    enums.append((ev.value, ev.name))
            fields.append(make_field(
                f.name, lsb, msb,
                access_map[enum_val(f.access)] if f.access is not None else raccess,
                reset=field_reset_from_register(reset, mask, lsb, msb),
                read_action=enum_val(f.read_action) if f.read_action is not None else reg_ra,
                write_semantics=(enum_val(f.modified_write_values)
                                 if f.modified_write_values is not None else reg_mwv),
                enums=enums))
        return make_register(name, offset, base, size, raccess, reset, fields,
                             read_action=reg_ra, write_semantics=reg_mwv,
                             field_reset=field_reset_from_register(reset, mask, 0, size - 1))

    def walk(items, prefix, extra, base, out):
        # cmsis-svd has already named a register of cluster C "C_NAME" and added
        # C's offset; for deeper nesting it adds only the innermost cluster, so
        # the outer names (prefix) and offsets (extra) are added here.
        for it in items or []:
            if isinstance(it, SVDRegister):
                out.append(reg_entry(it, prefix + it.name, extra + it.address_offset, base))
            elif isinstance(it, SVDRegisterArray):
                walk(it.registers, prefix, extra, base, out)
            elif isinstance(it, SVDRegisterCluster):
                walk(it.registers, prefix, extra, base, out)
                walk(it.clusters, prefix + it.name + SEP, extra + it.address_offset, base, out)
            elif isinstance(it, SVDRegisterClusterArray):
                walk(it.clusters, prefix, extra, base, out)
            else:
                raise Unsupported("unexpected SVD element %r" % type(it))

    blocks = []
    for p in device.get_peripherals():
        regs = []
        walk(p.registers, "", 0, p.base_address, regs)
        blocks.append(make_block(p.name, p.base_address, regs))
    return reading("svd", blocks)


# --------------------------------------------------------------------------
# LiteX csr.csv / csr.json: own reading


def litex_reading(fmt, bases, registers, constants):
    data_width = int(constants.get("config_csr_data_width", 32))
    alignment = int(constants.get("config_csr_alignment", 32))
    if alignment != data_width:
        raise Unsupported("config_csr_alignment %d != config_csr_data_width %d "
                          "(words not packed) is not supported" % (alignment, data_width))
    blocks = {name: [] for name in bases}
    for rname, addr, size, mode in registers:
        cands = [b for b in bases if rname.startswith(b + "_") and bases[b] <= addr]
        if cands:
            b = max(cands, key=len)
            short = rname[len(b) + 1:]
        else:
            below = [b for b in bases if bases[b] <= addr]
            if not below:
                raise Unsupported("register %s lies below every csr_base" % rname)
            b = max(below, key=lambda n: (bases[n], n))
            short = rname
        if mode not in ("ro", "rw"):
            raise Unsupported("register %s: unknown type %r" % (rname, mode))
        width = size * data_width
        blocks[b].append(make_register(
            short, addr - bases[b], bases[b], width,
            "RO" if mode == "ro" else "RW", None, [],
            access_width=data_width, word_order="big"))
    return reading(fmt, [make_block(n, bases[n], regs) for n, regs in blocks.items()])


def read_litex_csv(path):
    bases, registers, constants = {}, [], {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#"):
                continue
            kind = row[0].strip()
            if kind == "csr_base":
                bases[row[1]] = int(row[2], 0)
            elif kind == "csr_register":
                registers.append((row[1], int(row[2], 0), int(row[3]), row[4].strip()))
            elif kind == "constant":
                constants[row[1]] = row[2]
            elif kind == "memory_region":
                pass
            else:
                raise Unsupported("unknown csr.csv line kind %r" % kind)
    return litex_reading("litex-csv", bases, registers, constants)


def read_litex_json(path):
    d = json.load(open(path, encoding="utf-8"))
    bases = {k: int(v) for k, v in d.get("csr_bases", {}).items()}
    registers = [(k, int(v["addr"]), int(v["size"]), v["type"])
                 for k, v in d.get("csr_registers", {}).items()]
    return litex_reading("litex-json", bases, registers, d.get("constants", {}))


# --------------------------------------------------------------------------

READERS = {
    "systemrdl": read_systemrdl,
    "ipxact": read_ipxact,
    "svd": read_svd,
    "litex-csv": read_litex_csv,
    "litex-json": read_litex_json,
}


def main(argv):
    if len(argv) != 3 or argv[1] not in list(READERS) + ["auto"]:
        sys.stderr.write("usage: reference.py {auto|%s} FILE\n" % "|".join(READERS))
        return 2
    fmt, path = argv[1], argv[2]
    try:
        if fmt == "auto":
            fmt = detect(path)
        out = READERS[fmt](path)
    except Unsupported as e:
        sys.stderr.write("%s: unsupported: %s\n" % (path, e))
        return 3
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
