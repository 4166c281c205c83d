#!/usr/bin/env python3
"""Where each register of a SystemRDL file is in `peakrdl c-header
--type-style hier`'s header, for tests/regmap_generate.rs:

    target/regmap-data/venv/bin/python tests/data/cheader_paths.py FILE

prints JSON: {"struct": "<top>_t", "registers": [{"name": NAME, "member":
"DMA0.CH[1].SRC", "prefix": "NESTED__DMA0__CHX__SRC", "fields": [...]}]}.
NAME is the register as mmiodrv names it (tests/data/README.md, "Blocks"
and "Names": `BLOCK.` before it when the top map's children are blocks),
`member` the member designator of the top struct (for offsetof), and
`prefix` the start of its fields' `_bm`/`_bp` macros (peakrdl-cheader's
utils.get_node_prefix with reuse_typedefs off).
"""
import json
import sys

from systemrdl import RDLCompiler
from systemrdl.node import AddressableNode, AddrmapNode, MemNode, RegNode

rdlc = RDLCompiler()
rdlc.compile_file(sys.argv[1])
top = rdlc.elaborate().top
kids = [c for c in top.children() if isinstance(c, AddressableNode)]
explode = bool(kids) and all(isinstance(c, (AddrmapNode, MemNode)) and not c.is_array for c in kids)
blocks = kids if explode else [top]
out = []
for b in blocks:
    for node in b.descendants(unroll=True):
        if not isinstance(node, RegNode):
            continue
        name = node.get_rel_path(b, hier_separator="_")
        if explode:
            name = b.inst_name + "." + name
        prefix = node.get_rel_path(top.parent, hier_separator="__", array_suffix="x", empty_array_suffix="x")
        out.append({
            "name": name,
            "member": node.get_rel_path(top, hier_separator="."),
            "prefix": prefix.upper(),
            "fields": [f.inst_name for f in node.fields()],
        })
json.dump({"struct": top.inst_name + "_t", "registers": out}, sys.stdout)
