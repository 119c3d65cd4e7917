"""The flattened device tree (FDT, a DTB blob): from the blob to BootInfo.

Protocol document: the Devicetree Specification v0.4 (devicetree.org),
chapter 5 "Flattened Devicetree (DTB) Format", and for the nodes read here
chapter 3 (/memory, /reserved-memory, /chosen, /aliases, /cpus) and Linux's
Documentation/devicetree/bindings (serial, arm/gic, riscv plic).  QEMU's
`virt` machines hand one over: aarch64 at the start of RAM (x0), riscv64
in a1, loongarch64 at physical 0x100000.

Everything is big endian.  The blob, 8-byte aligned:

    header (u32 fields)
      0 magic 0xd00dfeed     4 totalsize        8 off_dt_struct
     12 off_dt_strings      16 off_mem_rsvmap  20 version (17 here)
     24 last_comp_version   28 boot_cpuid_phys 32 size_dt_strings
     36 size_dt_struct
    memory reservation block, at off_mem_rsvmap (8-aligned):
        {u64 address, u64 size} ... ended by an entry of size 0
    structure block, at off_dt_struct: u32 tokens, each 4-aligned
        FDT_BEGIN_NODE 1   name, NUL-terminated, padded to 4 ("" for the root)
        FDT_END_NODE   2
        FDT_PROP       3   u32 len, u32 nameoff (into the strings block),
                           len bytes of value, padded to 4
        FDT_NOP        4
        FDT_END        9   once, after the root node's FDT_END_NODE
      a node's properties come before its child nodes.
    strings block, at off_dt_strings: NUL-terminated property names

A `reg` value is a list of (address, size) pairs of #address-cells and
#size-cells u32 cells each, taken from the parent node (defaults 2 and 1).
Bus `ranges` are not applied: the buses of QEMU's virt machines map 1:1.

What becomes of the tree:
    /memory, /memory@*, or device_type "memory"   reg -> MEM_USABLE
    reservation block, /reserved-memory/* reg      -> MEM_RESERVED
    the blob itself (totalsize)                    -> MEM_BOOTLOADER_RECLAIMABLE
    /chosen bootargs                               -> cmdline
    /chosen linux,initrd-start / -end (4 or 8 byte values, end exclusive)
                                                   -> one module (virtual
                                                      address), MEM_KERNEL_AND_MODULES
    /chosen stdout-path ("/path", or an /aliases name, either may carry
        ":options"), else the first enabled node with a _UART_COMPATIBLE
        string                                     -> uart_kind, uart_base,
                                                      uart_reg_shift, uart_clock
    first enabled node with an _INTC_COMPATIBLE string -> intc_kind, intc_base0/1
    /cpus timebase-frequency                       -> timebase_frequency

The blob is walked in place with offsets: nothing is allocated, names are
compared byte by byte against constant strings, every offset and length is
checked against totalsize before it is read, and each loop moves forward
through a bounded block.  Scratch state lives in one prebuilt _Scan.

    parse_devicetree(dtb_virtual_address, dtb_phys, hhdm_offset, info)
        -> 0 or an error code (errors.py)
    parse_devices(dtb_virtual_address, info) -> 0 or an error code
        the devices (UART, interrupt controller, timebase; dtb_size) and
        the tree's reservations, for a protocol that gave everything else
        (Limine on aarch64 and riscv64): the memory map is kept, with the
        reserved ranges laid over it (U-Boot's EFI map calls OpenSBI's
        /reserved-memory usable), and the memory nodes, bootargs and
        initrd are not read
"""

from elyz.boot import errors, memmap
from elyz.boot.bootinfo import (
    INTC_GICV2, INTC_GICV3, INTC_NONE, INTC_PLIC, MEM_BOOTLOADER_RECLAIMABLE,
    MEM_KERNEL_AND_MODULES, MEM_RESERVED, MEM_USABLE, PROTOCOL_DEVICETREE,
    UART_NONE, UART_NS16550, UART_PL011)
from elyz.rlib_kernel import rawmem
from elyz.rlib_kernel.rawmem import to_word

FDT_MAGIC = int(0xd00dfeed)
FDT_HEADER_SIZE = 40
FDT_VERSION = 17                   # the first with size_dt_struct; QEMU's
FDT_BEGIN_NODE = 1
FDT_END_NODE = 2
FDT_PROP = 3
FDT_NOP = 4
FDT_END = 9
TOKEN_SIZE = 4
PROP_HEADER_SIZE = 8               # u32 len, u32 nameoff
RSV_ENTRY_SIZE = 16
MAX_DTB_SIZE = int(32 * 1024 * 1024)   # a larger totalsize is garbage
MAX_DEPTH = 16                     # QEMU's trees nest 5 deep
MAX_CELLS = 4                      # libfdt's FDT_MAX_NCELLS
DEFAULT_ADDRESS_CELLS = 2
DEFAULT_SIZE_CELLS = 1
MAX_REG_SHIFT = 4                  # registers 16 bytes apart is the most seen

# Node kinds, decided by name and place when the node begins.
NODE_OTHER = 0
NODE_ROOT = 1
NODE_MEMORY = 2                    # /memory, /memory@...
NODE_RESERVED_MEMORY = 3           # /reserved-memory
NODE_RESERVED = 4                  # a child of /reserved-memory
NODE_CHOSEN = 5
NODE_CPUS = 6
NODE_ALIASES = 7

# compatible strings we know, and what they are.
_UART_COMPATIBLE = ['arm,pl011', 'ns16550a', 'ns16550', 'loongson,ls7a-uart']
_UART_KIND = [UART_PL011, UART_NS16550, UART_NS16550, UART_NS16550]
_INTC_COMPATIBLE = ['arm,cortex-a15-gic', 'arm,gic-400', 'arm,gic-v3',
                    'riscv,plic0', 'sifive,plic-1.0.0']
_INTC_KIND = [INTC_GICV2, INTC_GICV2, INTC_GICV3, INTC_PLIC, INTC_PLIC]


class _Scan(object):
    """Where the blob's blocks are (offsets from base) and, per depth of
    the node being walked, what its properties said so far."""

    def __init__(self):
        self.kind = [NODE_OTHER] * MAX_DEPTH
        self.address_cells = [0] * MAX_DEPTH   # for the node's children
        self.size_cells = [0] * MAX_DEPTH
        self.reg = [0] * MAX_DEPTH             # offset of the reg value, -1: none
        self.reg_len = [0] * MAX_DEPTH
        self.uart = [UART_NONE] * MAX_DEPTH    # from compatible
        self.intc = [INTC_NONE] * MAX_DEPTH
        self.reg_shift = [0] * MAX_DEPTH
        self.clock = [0] * MAX_DEPTH
        self.disabled = [False] * MAX_DEPTH    # status other than "okay"
        self.is_memory = [False] * MAX_DEPTH   # device_type = "memory"
        self.path_end = [0] * MAX_DEPTH        # stdout walk: see _match_path
        self.reset(0)

    def reset(self, base):
        """Forgets the previous blob; base is the new one's address."""
        self.base = base
        self.total = 0
        self.struct_start = 0
        self.struct_end = 0
        self.strings_start = 0
        self.strings_end = 0
        self.rsvmap = 0
        self.prop_value = 0        # set by _read_prop
        self.prop_len = 0
        self.prop_name = 0
        self.initrd_start = 0
        self.initrd_end = 0
        self.has_initrd_start = False
        self.has_initrd_end = False
        self.stdout = -1           # offset of the stdout-path value
        self.stdout_len = 0
        self.aliases = -1          # offset of the first token inside /aliases
        self.target = 0            # the stdout node's path (offset, length)
        self.target_len = 0
        self.found_depth = -1
        self.devices_only = False  # parse_devices: skip memory and /chosen's rest


_scan = _Scan()


def parse_devicetree(dtb_virtual_address, dtb_phys, hhdm_offset, info):
    """Resets info and fills it from the device tree blob at
    dtb_virtual_address (physical dtb_phys), then normalises the memory
    map; module addresses are physical + hhdm_offset.  kernel_phys_base and
    kernel_virt_base are left to the caller.  Returns 0, or: E_BAD_ADDRESS
    for a NULL or misaligned blob or block, E_BAD_MAGIC, E_BAD_VERSION
    (before version 17), E_BAD_SIZE for an absurd totalsize or a property
    of the wrong length, E_TRUNCATED when anything runs past its block or
    totalsize, E_BAD_STRUCTURE for a malformed token sequence,
    E_NO_MEMORY_MAP when the tree names no usable memory (everything else
    is filled in then: QEMU 7.2's loongarch64 tree has no /memory node)."""
    info.reset()
    info.protocol = PROTOCOL_DEVICETREE
    info.hhdm_offset = hhdm_offset
    scan = _scan
    status = _read_header(scan, dtb_virtual_address)
    if status != errors.OK:
        return status
    info.dtb_phys = dtb_phys
    info.dtb_size = scan.total
    status = _read_reservations(scan, info)
    if status != errors.OK:
        return status
    status = _walk(scan, info, False)
    if status != errors.OK:
        return status
    if _resolve_stdout(scan):
        status = _walk(scan, info, True)
        if status != errors.OK:
            return status
    status = _read_initrd(scan, info, hhdm_offset)
    if status != errors.OK:
        return status
    memmap.add_region(info, dtb_phys, scan.total, MEM_BOOTLOADER_RECLAIMABLE)
    memmap.normalise(info)
    if not _has_usable_memory(info):
        return errors.E_NO_MEMORY_MAP
    return errors.OK


def parse_devices(dtb_virtual_address, info):
    """Sets the device fields of info from the blob at
    dtb_virtual_address: uart_*, intc_*, timebase_frequency (cleared
    first) and dtb_size, and lays the reservation block and
    /reserved-memory over info's memory map as MEM_RESERVED (then
    normalises it); everything else in info is kept.  The memory nodes,
    bootargs and the initrd are not read (Limine deletes the memory nodes
    and gives its own map).  Returns 0 or the errors of
    parse_devicetree, except E_NO_MEMORY_MAP."""
    info.clear_devices()
    scan = _scan
    status = _read_header(scan, dtb_virtual_address)
    if status != errors.OK:
        return status
    scan.devices_only = True
    info.dtb_size = scan.total
    status = _read_reservations(scan, info)
    if status == errors.OK:
        status = _walk(scan, info, False)
    if status == errors.OK and _resolve_stdout(scan):
        status = _walk(scan, info, True)
    scan.devices_only = False
    memmap.normalise(info)
    return status


def _has_usable_memory(info):
    i = 0
    while i < info.memmap_count:
        if info.memmap_type[i] == MEM_USABLE:
            return True
        i += 1
    return False


# ------------------------------------------------------------ blob access

def _u8(scan, off):
    return rawmem.load_u8(scan.base + off)


def _u32(scan, off):
    """Returns the big-endian u32 at offset off of the blob."""
    a = scan.base + off
    return ((rawmem.load_u8(a) << 24) | (rawmem.load_u8(a + 1) << 16)
            | (rawmem.load_u8(a + 2) << 8) | rawmem.load_u8(a + 3))


def _cells(scan, off, count):
    """Returns the big-endian number of count u32 cells at off, its low
    64 bits as a Signed word (0 for count 0)."""
    value = 0
    k = 0
    while k < count:
        value = to_word((value << 32) | _u32(scan, off + 4 * k))
        k += 1
    return value


def _align4(off):
    return (off + 3) & ~3


def _fits(off, size, limit):
    """Returns True when [off, off+size) lies inside [0, limit)."""
    return 0 <= off <= limit and 0 <= size <= limit - off


def _string_length(scan, off, limit):
    """Returns the length of the NUL-terminated string at off, or -1 when
    no NUL comes before offset limit."""
    n = off
    while n < limit:
        if _u8(scan, n) == 0:
            return n - off
        n += 1
    return -1


def _bytes_equal(scan, off, const):
    """Returns True when the len(const) bytes at off are const's.  Stops at
    the first difference, so it never reads past a NUL of the blob."""
    k = 0
    while k < len(const):
        if _u8(scan, off + k) != ord(const[k]):
            return False
        k += 1
    return True


def _string_is(scan, off, const):
    """True when the NUL-terminated string at off is const."""
    return _bytes_equal(scan, off, const) and _u8(scan, off + len(const)) == 0


def _range_is(scan, off, length, const):
    """True when the length bytes at off are exactly const."""
    return length == len(const) and _bytes_equal(scan, off, const)


def _ranges_equal(scan, a, b, length):
    k = 0
    while k < length:
        if _u8(scan, a + k) != _u8(scan, b + k):
            return False
        k += 1
    return True


def _stem_length(scan, off, length):
    """Returns the length of a node name without its @unit-address."""
    n = 0
    while n < length and _u8(scan, off + n) != ord('@'):
        n += 1
    return n


# ----------------------------------------------------------------- blocks

def _read_header(scan, base):
    """Checks the header and records where the blocks are; returns 0 or
    an error code (see parse_devicetree).  Reads nothing past totalsize."""
    scan.reset(base)
    if base == 0 or base & 7 != 0:
        return errors.E_BAD_ADDRESS
    if _u32(scan, 0) != FDT_MAGIC:
        return errors.E_BAD_MAGIC
    total = _u32(scan, 4)
    if total < FDT_HEADER_SIZE:
        return errors.E_TRUNCATED
    if total > MAX_DTB_SIZE:
        return errors.E_BAD_SIZE
    scan.total = total
    if _u32(scan, 20) < FDT_VERSION or _u32(scan, 24) > FDT_VERSION:
        return errors.E_BAD_VERSION
    off_struct = _u32(scan, 8)
    off_strings = _u32(scan, 12)
    off_rsvmap = _u32(scan, 16)
    size_strings = _u32(scan, 32)
    size_struct = _u32(scan, 36)
    if (off_struct & 3 != 0 or off_rsvmap & 7 != 0 or off_struct < FDT_HEADER_SIZE
            or off_strings < FDT_HEADER_SIZE or off_rsvmap < FDT_HEADER_SIZE):
        return errors.E_BAD_ADDRESS
    if (not _fits(off_struct, size_struct, total) or not _fits(off_strings, size_strings, total)
            or off_rsvmap > total):
        return errors.E_TRUNCATED
    scan.struct_start = off_struct
    scan.struct_end = off_struct + size_struct
    scan.strings_start = off_strings
    scan.strings_end = off_strings + size_strings
    scan.rsvmap = off_rsvmap
    return errors.OK


def _read_reservations(scan, info):
    """Adds each memory reservation block entry as MEM_RESERVED.  Returns
    E_TRUNCATED when the block runs past totalsize before its end entry."""
    off = scan.rsvmap
    while True:
        if scan.total - off < RSV_ENTRY_SIZE:
            return errors.E_TRUNCATED
        size = _cells(scan, off + 8, 2)
        if size == 0:
            return errors.OK
        memmap.add_region(info, _cells(scan, off, 2), size, MEM_RESERVED)
        off += RSV_ENTRY_SIZE


def _read_prop(scan, off):
    """Checks the FDT_PROP body at off (just past the token) and sets
    scan.prop_value, prop_len and prop_name (offsets).  Returns the offset
    of the next token, or E_TRUNCATED (negative) when the header, value or
    name runs past its block or the name is not NUL-terminated."""
    end = scan.struct_end
    if end - off < PROP_HEADER_SIZE:
        return errors.E_TRUNCATED
    length = _u32(scan, off)
    nameoff = _u32(scan, off + 4)
    value = off + PROP_HEADER_SIZE
    if length > end - value:
        return errors.E_TRUNCATED
    if nameoff >= scan.strings_end - scan.strings_start:
        return errors.E_TRUNCATED
    name = scan.strings_start + nameoff
    if _string_length(scan, name, scan.strings_end) < 0:
        return errors.E_TRUNCATED
    scan.prop_value = value
    scan.prop_len = length
    scan.prop_name = name
    return _align4(value + length)


# -------------------------------------------------------- structure block

def _walk(scan, info, find):
    """Walks the structure block from its first token to FDT_END.  find
    False: records everything the module docstring lists.  find True: only
    looks for the node at path scan.target and takes it as the UART,
    stopping there.  Returns 0 or E_TRUNCATED / E_BAD_STRUCTURE / E_BAD_SIZE.
    Every step moves off forward by at least one token, and off is checked
    against the end of the block first, so the loop ends."""
    off = scan.struct_start
    end = scan.struct_end
    depth = -1
    root_done = False
    while True:
        if end - off < TOKEN_SIZE:
            return errors.E_TRUNCATED
        token = _u32(scan, off)
        off += TOKEN_SIZE
        if token == FDT_BEGIN_NODE:
            if root_done or depth >= MAX_DEPTH - 1:
                return errors.E_BAD_STRUCTURE
            name_len = _string_length(scan, off, end)
            if name_len < 0:
                return errors.E_TRUNCATED
            depth += 1
            _begin_node(scan, depth, off, name_len, find)
            off = _align4(off + name_len + 1)
        elif token == FDT_END_NODE:
            if depth < 0:
                return errors.E_BAD_STRUCTURE
            if find:
                if depth == scan.found_depth:
                    _take_uart(scan, info, depth)
                    return errors.OK
            else:
                _end_node(scan, info, depth)
            depth -= 1
            root_done = depth < 0
        elif token == FDT_PROP:
            if depth < 0:
                return errors.E_BAD_STRUCTURE
            off = _read_prop(scan, off)
            if off < 0:
                return off
            status = _property(scan, info, depth, find)
            if status != errors.OK:
                return status
        elif token == FDT_END:
            if not root_done:
                return errors.E_BAD_STRUCTURE
            return errors.OK
        elif token != FDT_NOP:
            return errors.E_BAD_STRUCTURE


def _begin_node(scan, depth, name, name_len, find):
    """Starts the node at depth whose name is at offset name; returns
    nothing."""
    scan.address_cells[depth] = DEFAULT_ADDRESS_CELLS
    scan.size_cells[depth] = DEFAULT_SIZE_CELLS
    scan.reg[depth] = -1
    scan.reg_len[depth] = 0
    scan.uart[depth] = UART_NONE
    scan.intc[depth] = INTC_NONE
    scan.reg_shift[depth] = 0
    scan.clock[depth] = 0
    scan.disabled[depth] = False
    scan.is_memory[depth] = False
    kind = NODE_OTHER
    if depth == 0:
        kind = NODE_ROOT
    elif depth == 1:
        stem = _stem_length(scan, name, name_len)
        if _range_is(scan, name, name_len, 'chosen'):
            kind = NODE_CHOSEN
        elif _range_is(scan, name, name_len, 'aliases'):
            kind = NODE_ALIASES
            scan.aliases = _align4(name + name_len + 1)
        elif _range_is(scan, name, name_len, 'cpus'):
            kind = NODE_CPUS
        elif _range_is(scan, name, name_len, 'reserved-memory'):
            kind = NODE_RESERVED_MEMORY
        elif _range_is(scan, name, stem, 'memory'):
            kind = NODE_MEMORY
    elif depth == 2 and scan.kind[1] == NODE_RESERVED_MEMORY:
        kind = NODE_RESERVED
    scan.kind[depth] = kind
    if find:
        _match_path(scan, depth, name, name_len)


def _match_path(scan, depth, name, name_len):
    """stdout walk: path_end[depth] becomes the offset in the target path
    just past this node's component when the path so far leads here, -1
    otherwise; found_depth is set when the whole path does.  A component
    without '@' also matches a name with a unit address ("/pl011")."""
    if depth == 0:
        scan.path_end[0] = 0           # the root: nothing of the path yet
        return
    scan.path_end[depth] = -1
    p = scan.path_end[depth - 1]
    target = scan.target
    n = scan.target_len
    if p < 0 or p >= n or _u8(scan, target + p) != ord('/'):
        return
    start = p + 1
    stop = start
    while stop < n and _u8(scan, target + stop) != ord('/'):
        stop += 1
    length = stop - start
    if length == name_len and _ranges_equal(scan, target + start, name, length):
        matched = True
    else:
        matched = (_stem_length(scan, target + start, length) == length
                   and _stem_length(scan, name, name_len) == length
                   and _ranges_equal(scan, target + start, name, length))
    if matched:
        scan.path_end[depth] = stop
        if stop == n and scan.found_depth < 0:
            scan.found_depth = depth


def _number(scan, value, length):
    """Returns the 4- or 8-byte big-endian number at value."""
    return _cells(scan, value, length >> 2)


def _property(scan, info, depth, find):
    """Records the property just read (scan.prop_*) for the node at depth.
    Returns 0, or E_BAD_SIZE for a #cells, reg-shift, clock-frequency,
    timebase-frequency or initrd value of the wrong length or range."""
    name = scan.prop_name
    value = scan.prop_value
    length = scan.prop_len
    if _string_is(scan, name, 'reg'):
        scan.reg[depth] = value
        scan.reg_len[depth] = length
    elif _string_is(scan, name, 'compatible'):
        scan.uart[depth] = _match_compatible(scan, value, length, _UART_COMPATIBLE, _UART_KIND)
        scan.intc[depth] = _match_compatible(scan, value, length, _INTC_COMPATIBLE, _INTC_KIND)
    elif _string_is(scan, name, '#address-cells') or _string_is(scan, name, '#size-cells'):
        if length != 4:
            return errors.E_BAD_SIZE
        cells = _u32(scan, value)
        if cells > MAX_CELLS:
            return errors.E_BAD_SIZE
        if _u8(scan, name + 1) == ord('a'):
            scan.address_cells[depth] = cells
        else:
            scan.size_cells[depth] = cells
    elif _string_is(scan, name, 'status'):
        scan.disabled[depth] = not (_range_is(scan, value, length, 'okay\x00')
                                    or _range_is(scan, value, length, 'ok\x00'))
    elif _string_is(scan, name, 'reg-shift'):
        if length != 4 or _u32(scan, value) > MAX_REG_SHIFT:
            return errors.E_BAD_SIZE
        scan.reg_shift[depth] = _u32(scan, value)
    elif _string_is(scan, name, 'clock-frequency'):
        if length != 4 and length != 8:
            return errors.E_BAD_SIZE
        scan.clock[depth] = _number(scan, value, length)
    elif not find:
        return _tree_property(scan, info, depth, name, value, length)
    return errors.OK


def _tree_property(scan, info, depth, name, value, length):
    """The properties read only once, on the first walk: device_type of a
    top-level node, /chosen's and /cpus's.  Returns 0 or E_BAD_SIZE."""
    kind = scan.kind[depth]
    if depth == 1 and _string_is(scan, name, 'device_type'):
        scan.is_memory[depth] = _range_is(scan, value, length, 'memory\x00')
    elif kind == NODE_CHOSEN:
        if scan.devices_only and not (_string_is(scan, name, 'stdout-path')
                                      or _string_is(scan, name, 'linux,stdout-path')):
            pass                    # bootargs and the initrd: the protocol's own
        elif _string_is(scan, name, 'bootargs'):
            info.set_cmdline_from(scan.base + value, length)
        elif (_string_is(scan, name, 'stdout-path')
              or (_string_is(scan, name, 'linux,stdout-path') and scan.stdout < 0)):
            scan.stdout = value
            scan.stdout_len = length
        elif _string_is(scan, name, 'linux,initrd-start'):
            if length != 4 and length != 8:
                return errors.E_BAD_SIZE
            scan.initrd_start = _number(scan, value, length)
            scan.has_initrd_start = True
        elif _string_is(scan, name, 'linux,initrd-end'):
            if length != 4 and length != 8:
                return errors.E_BAD_SIZE
            scan.initrd_end = _number(scan, value, length)
            scan.has_initrd_end = True
    elif kind == NODE_CPUS and _string_is(scan, name, 'timebase-frequency'):
        if length != 4 and length != 8:
            return errors.E_BAD_SIZE
        info.timebase_frequency = _number(scan, value, length)
    return errors.OK


def _match_compatible(scan, value, length, table, kinds):
    """Returns kinds[i] for the first string of the compatible list at
    value that is table[i], 0 when none is."""
    start = 0
    while start < length:
        stop = start
        while stop < length and _u8(scan, value + stop) != 0:
            stop += 1
        i = 0
        while i < len(table):
            if _range_is(scan, value + start, stop - start, table[i]):
                return kinds[i]
            i += 1
        start = stop + 1
    return 0


def _end_node(scan, info, depth):
    """Acts on a node whose properties have all been seen (first walk):
    memory and reserved-memory ranges, the first UART and interrupt
    controller.  Returns nothing."""
    kind = scan.kind[depth]
    if kind == NODE_MEMORY or (depth == 1 and scan.is_memory[depth]):
        if not scan.devices_only:   # parse_devices: usable memory is the protocol's
            _add_reg_ranges(scan, info, depth, MEM_USABLE)
    elif kind == NODE_RESERVED:
        _add_reg_ranges(scan, info, depth, MEM_RESERVED)
    if info.uart_kind == UART_NONE:
        _take_uart(scan, info, depth)
    if info.intc_kind == INTC_NONE:
        _take_intc(scan, info, depth)


def _reg_count(scan, depth):
    """Returns how many whole (address, size) pairs the reg of the node at
    depth (>= 1) holds, by its parent's cells; 0 without reg."""
    stride = 4 * (scan.address_cells[depth - 1] + scan.size_cells[depth - 1])
    if scan.reg[depth] < 0 or stride == 0:
        return 0
    return scan.reg_len[depth] // stride


def _reg_pair(scan, depth, index):
    """The offset of pair index of the reg of the node at depth (>= 1)."""
    stride = 4 * (scan.address_cells[depth - 1] + scan.size_cells[depth - 1])
    return scan.reg[depth] + index * stride


def _reg_address(scan, depth, index):
    return _cells(scan, _reg_pair(scan, depth, index), scan.address_cells[depth - 1])


def _reg_size(scan, depth, index):
    return _cells(scan, _reg_pair(scan, depth, index) + 4 * scan.address_cells[depth - 1],
                  scan.size_cells[depth - 1])


def _add_reg_ranges(scan, info, depth, mem_type):
    """Adds every reg pair of the node at depth as mem_type."""
    count = _reg_count(scan, depth)
    i = 0
    while i < count:
        memmap.add_region(info, _reg_address(scan, depth, i), _reg_size(scan, depth, i),
                          mem_type)
        i += 1


def _usable_device(scan, depth):
    """True when the node at depth is enabled and has a reg pair."""
    return depth >= 1 and not scan.disabled[depth] and _reg_count(scan, depth) > 0


def _take_uart(scan, info, depth):
    """Makes the node at depth the console UART when it is a known,
    enabled one with a reg; returns nothing."""
    if scan.uart[depth] == UART_NONE or not _usable_device(scan, depth):
        return
    info.uart_kind = scan.uart[depth]
    info.uart_base = _reg_address(scan, depth, 0)
    info.uart_reg_shift = scan.reg_shift[depth]
    info.uart_clock = scan.clock[depth]


def _take_intc(scan, info, depth):
    """Makes the node at depth the interrupt controller when it is a known,
    enabled one with a reg (base1 from a second pair, 0 without one)."""
    if scan.intc[depth] == INTC_NONE or not _usable_device(scan, depth):
        return
    info.intc_kind = scan.intc[depth]
    info.intc_base0 = _reg_address(scan, depth, 0)
    info.intc_base1 = 0
    if info.intc_kind != INTC_PLIC and _reg_count(scan, depth) > 1:
        info.intc_base1 = _reg_address(scan, depth, 1)


# --------------------------------------------------- chosen: stdout, initrd

def _resolve_stdout(scan):
    """Sets scan.target / target_len to the path of the node stdout-path
    names: its text up to ':' (options) or NUL, looked up in /aliases when
    it does not start with '/'.  Returns True when there is a path to
    look for."""
    if scan.stdout < 0:
        return False
    n = _path_length(scan, scan.stdout, scan.stdout_len)
    if n == 0:
        return False
    if _u8(scan, scan.stdout) == ord('/'):
        scan.target = scan.stdout
        scan.target_len = n
        return True
    return _find_alias(scan, scan.stdout, n)


def _path_length(scan, off, length):
    """Returns how many of the length bytes at off come before a NUL or
    the ':' that starts options."""
    n = 0
    while n < length and _u8(scan, off + n) != 0 and _u8(scan, off + n) != ord(':'):
        n += 1
    return n


def _find_alias(scan, alias, alias_len):
    """Looks through /aliases's properties for the one named by the
    alias_len bytes at alias; sets scan.target to its value (up to NUL or
    ':').  Returns True when found."""
    off = scan.aliases
    if off < 0:
        return False
    while scan.struct_end - off >= TOKEN_SIZE:
        token = _u32(scan, off)
        off += TOKEN_SIZE
        if token == FDT_NOP:
            continue
        if token != FDT_PROP:
            return False
        off = _read_prop(scan, off)
        if off < 0:
            return False
        name = scan.prop_name
        if _ranges_equal(scan, name, alias, alias_len) and _u8(scan, name + alias_len) == 0:
            n = _path_length(scan, scan.prop_value, scan.prop_len)
            scan.target = scan.prop_value
            scan.target_len = n
            return n > 0 and _u8(scan, scan.prop_value) == ord('/')
    return False


def _read_initrd(scan, info, hhdm_offset):
    """Records /chosen's initrd as a module (virtual address) and reserves
    it.  Returns E_BAD_SIZE when it ends before it starts; one of the two
    properties alone is ignored."""
    if not (scan.has_initrd_start and scan.has_initrd_end):
        return errors.OK
    start = scan.initrd_start
    end = scan.initrd_end
    if start < 0 or end < start:
        return errors.E_BAD_SIZE
    if end > start:
        info.add_module(start + hhdm_offset, end - start)
        memmap.add_region(info, start, end - start, MEM_KERNEL_AND_MODULES)
    return errors.OK
