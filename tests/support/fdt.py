"""Flattened device tree blobs for tests, built from a Python description.

The format is the Devicetree Specification's chapter 5 (see
elyz/boot/devicetree.py for the layout):

    Node(name, props=[(name, value bytes)], children=[Node...])
    u32(*values) u64(*values) string(s) strings(*items) -> property values
    cells(count, *values)        each value as count big-endian u32 cells
    build(root, reservations=[(address, size)], **header) -> Blob
        header: the layout is header, reservation block, structure block,
        strings block; a keyword (magic, totalsize, off_dt_struct,
        off_dt_strings, off_mem_rsvmap, version, last_comp_version,
        boot_cpuid_phys, size_dt_strings, size_dt_struct) overrides that
        header field after layout, to make broken blobs
    assemble(struct_block, strings_block, reservations, **header) -> Blob
        the same from hand-made blocks; with the token helpers
        begin_node(name) end_node() prop(nameoff, value) nop() end()
    Blob.data (bytes), Blob.header (the fields written), Blob.totalsize

Values are plain bytes, so a test can give a property any length.
"""

import struct

FDT_MAGIC = 0xd00dfeed
FDT_BEGIN_NODE = 1
FDT_END_NODE = 2
FDT_PROP = 3
FDT_NOP = 4
FDT_END = 9
HEADER_SIZE = 40
HEADER_FIELDS = ['magic', 'totalsize', 'off_dt_struct', 'off_dt_strings', 'off_mem_rsvmap',
                 'version', 'last_comp_version', 'boot_cpuid_phys', 'size_dt_strings',
                 'size_dt_struct']


class Node(object):
    def __init__(self, name, props=(), children=()):
        self.name = name
        self.props = list(props)
        self.children = list(children)


def u32(*values):
    return b''.join(struct.pack('>I', v) for v in values)


def u64(*values):
    return b''.join(struct.pack('>Q', v) for v in values)


def cells(count, *values):
    """Each value as count big-endian u32 cells (its low 32*count bits)."""
    out = b''
    for v in values:
        for k in range(count - 1, -1, -1):
            out += struct.pack('>I', (v >> (32 * k)) & 0xffffffff)
    return out


def string(s):
    return s.encode('ascii') + b'\x00'


def strings(*items):
    return b''.join(string(s) for s in items)


def _pad4(data):
    return data + b'\x00' * (-len(data) % 4)


def begin_node(name):
    return u32(FDT_BEGIN_NODE) + _pad4(name.encode('ascii') + b'\x00')


def end_node():
    return u32(FDT_END_NODE)


def prop(nameoff, value):
    return u32(FDT_PROP, len(value), nameoff) + _pad4(value)


def nop():
    return u32(FDT_NOP)


def end():
    return u32(FDT_END)


class StringTable(object):
    """The strings block: each property name once, in first-use order."""

    def __init__(self):
        self.data = b''
        self.offsets = {}

    def offset(self, name):
        if name not in self.offsets:
            self.offsets[name] = len(self.data)
            self.data += string(name)
        return self.offsets[name]


def _node_tokens(node, table):
    out = begin_node(node.name)
    for name, value in node.props:
        out += prop(table.offset(name), value)
    for child in node.children:
        out += _node_tokens(child, table)
    return out + end_node()


class Blob(object):
    def __init__(self, data, header):
        self.data = data
        self.header = header

    @property
    def totalsize(self):
        return self.header['totalsize']


def assemble(struct_block, strings_block, reservations=(), **overrides):
    """Header, reservation block (ended by a zero entry), struct_block,
    strings_block; then the header fields in overrides replace the real
    ones.  Returns a Blob."""
    rsvmap = b''.join(u64(a, s) for a, s in reservations) + u64(0, 0)
    off_rsvmap = HEADER_SIZE
    off_struct = off_rsvmap + len(rsvmap)
    off_strings = off_struct + len(struct_block)
    total = off_strings + len(strings_block)
    header = dict(magic=FDT_MAGIC, totalsize=total, off_dt_struct=off_struct,
                  off_dt_strings=off_strings, off_mem_rsvmap=off_rsvmap, version=17,
                  last_comp_version=16, boot_cpuid_phys=0,
                  size_dt_strings=len(strings_block), size_dt_struct=len(struct_block))
    body = rsvmap + struct_block + strings_block
    header.update(overrides)
    data = u32(*[header[f] for f in HEADER_FIELDS]) + body
    return Blob(data, header)


def build(root, reservations=(), **overrides):
    """The blob of the tree under root (a Node named '')."""
    table = StringTable()
    struct_block = _node_tokens(root, table) + end()
    return assemble(struct_block, table.data, reservations, **overrides)
