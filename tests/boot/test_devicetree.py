"""Specification of elyz.boot.devicetree: a flattened device tree becomes a BootInfo."""

import os
import struct
import subprocess
from distutils.spawn import find_executable

import pytest
from hypothesis import given, settings, strategies as st

from elyz.boot import bootinfo, errors, memmap
from elyz.boot.bootinfo import (
    INTC_GICV2, INTC_GICV3, INTC_NONE, INTC_PLIC, MAX_CMDLINE, MEM_BOOTLOADER_RECLAIMABLE,
    MEM_KERNEL_AND_MODULES, MEM_RESERVED, MEM_USABLE, PROTOCOL_DEVICETREE, BootInfo,
    UART_NONE, UART_NS16550, UART_PL011)
from elyz.boot.devicetree import parse_devices, parse_devicetree
from elyz.kernel import boot
from elyz.lib import log
from elyz.rlib_kernel import rawmem
from elyz.rlib_kernel.rawmem import to_word
from tests.boot.images import HHDM, Machine, regions
from tests.support import fdt
from tests.support.fdt import Node, cells, string, strings, u32, u64
from tests.support.rpycheck import reaches, rtype_allocation_free

DTB_PHYS = 0x40000000          # where QEMU's aarch64 virt puts it for a bare kernel
RAM_BASE = 0x40000000
RAM_SIZE = 128 << 20
MIB = 1 << 20


def parse(blob, phys=DTB_PHYS):
    """Places exactly totalsize bytes of blob (so any read past them
    faults) and parses them; returns (status, info)."""
    machine = Machine()
    data = blob.data if isinstance(blob, fdt.Blob) else blob
    size = min(len(data), max(fdt.HEADER_SIZE, _declared_totalsize(data)))
    machine.place(phys, data[:size])
    info = BootInfo()
    return parse_devicetree(machine.virt(phys), phys, to_word(HHDM), info), info


def _declared_totalsize(data):
    return struct.unpack('>I', bytes(data[4:8]))[0] if len(data) >= 8 else 0


def root(*children, **kw):
    """A root node with #address-cells / #size-cells (2/2 unless given)."""
    props = [('#address-cells', u32(kw.get('address_cells', 2))),
             ('#size-cells', u32(kw.get('size_cells', 2))),
             ('compatible', string('linux,dummy-virt'))] + kw.get('props', [])
    return Node('', props, children)


def memory(base=RAM_BASE, size=RAM_SIZE, name=None, n=2, props=()):
    return Node(name or 'memory@%x' % base,
                [('reg', cells(n, base, size)), ('device_type', string('memory'))] + list(props))


def device(name, compatible, reg, n=2, props=()):
    """A device node; compatible: a list of strings, reg: [(address, size)]."""
    return Node(name, [('compatible', strings(*compatible)),
                       ('reg', b''.join(cells(n, a, s) for a, s in reg))] + list(props))


def chosen(*props):
    return Node('chosen', list(props))


def pl011(base=0x9000000, props=()):
    return device('pl011@%x' % base, ['arm,pl011', 'arm,primecell'], [(base, 0x1000)],
                  props=props)


def ns16550(base=0x10000000, compatible='ns16550a', props=()):
    return device('serial@%x' % base, [compatible], [(base, 0x100)], props=props)


def usable(info):
    return [(b, l) for b, l, t in regions(info) if t == MEM_USABLE]


# ------------------------------------------------------------------ memory

def test_a_minimal_tree_fills_protocol_hhdm_and_blob_fields():
    blob = fdt.build(root(memory()))
    status, info = parse(blob)
    assert status == errors.OK
    assert info.protocol == PROTOCOL_DEVICETREE
    assert info.protocol_name() == 'devicetree'
    assert info.hhdm_offset == to_word(HHDM)
    assert (info.dtb_phys, info.dtb_size) == (DTB_PHYS, blob.totalsize)
    assert info.cmdline_len == 0 and info.module_count == 0
    assert (info.uart_kind, info.intc_kind, info.timebase_frequency) == (UART_NONE, INTC_NONE, 0)
    assert info.kernel_phys_base == 0          # the port's business


def test_memory_node_is_usable_and_the_blob_is_bootloader_reclaimable():
    blob = fdt.build(root(memory()))
    status, info = parse(blob, phys=RAM_BASE + 0x100000)
    assert status == errors.OK
    assert regions(info) == [(RAM_BASE, 0x100000, MEM_USABLE),
                             (RAM_BASE + 0x100000, blob.totalsize, MEM_BOOTLOADER_RECLAIMABLE),
                             (RAM_BASE + 0x101000, RAM_SIZE - 0x101000, MEM_USABLE)]


def test_one_cell_addresses_and_sizes():
    status, info = parse(fdt.build(root(memory(0x80000000, 0x10000000, n=1),
                                        address_cells=1, size_cells=1)), phys=0x1000)
    assert status == errors.OK
    assert usable(info) == [(0x80000000, 0x10000000)]


def test_default_cells_are_two_address_one_size():
    tree = Node('', [], [Node('memory', [('reg', u64(0x80000000) + u32(0x1000000))])])
    status, info = parse(fdt.build(tree), phys=0x1000)
    assert status == errors.OK
    assert usable(info) == [(0x80000000, 0x1000000)]


def test_several_memory_nodes_and_several_reg_pairs():
    tree = root(memory(0x40000000, 0x8000000),
                Node('memory@100000000', [('reg', cells(2, 0x100000000, 0x40000000,
                                                        0x200000000, 0x1000000))]),
                Node('memory', [('reg', cells(2, 0x80000000, 0x100000))]))
    status, info = parse(fdt.build(tree), phys=0x1000)
    assert status == errors.OK
    assert usable(info) == [(0x40000000, 0x8000000), (0x80000000, 0x100000),
                            (0x100000000, 0x40000000), (0x200000000, 0x1000000)]


def test_device_type_memory_counts_but_other_names_and_nested_nodes_do_not():
    tree = root(memory(0x40000000, 0x100000, name='ram@40000000'),
                Node('memoryless@0', [('reg', cells(2, 0x50000000, 0x100000))]),
                Node('soc', [], [Node('memory@60000000',
                                      [('reg', cells(2, 0x60000000, 0x100000))])]))
    status, info = parse(fdt.build(tree), phys=0x1000)
    assert status == errors.OK
    assert usable(info) == [(0x40000000, 0x100000)]


def test_reservation_block_entries_are_reserved():
    blob = fdt.build(root(memory()), reservations=[(0x40010000, 0x2000), (0x47ff0000, 0x10000)])
    status, info = parse(blob, phys=0x1000)
    assert status == errors.OK
    assert (0x40010000, 0x2000, MEM_RESERVED) in regions(info)
    assert (0x47ff0000, 0x10000, MEM_RESERVED) in regions(info)
    assert (0x40012000, 0x47ff0000 - 0x40012000, MEM_USABLE) in regions(info)


def test_reserved_memory_children_are_reserved_with_their_parents_cells():
    reserved = Node('reserved-memory', [('#address-cells', u32(1)), ('#size-cells', u32(1)),
                                        ('ranges', b'')],
                    [Node('secmon@40100000', [('reg', cells(1, 0x40100000, 0x20000)),
                                              ('no-map', b'')]),
                     Node('pool', [('size', cells(1, 0x100000))]),     # dynamic: no reg
                     Node('fb@41000000', [('reg', cells(1, 0x41000000, 0x1000,
                                                        0x42000000, 0x2000))])])
    status, info = parse(fdt.build(root(memory(), reserved)), phys=0x1000)
    assert status == errors.OK
    reserved_ranges = [(b, l) for b, l, t in regions(info) if t == MEM_RESERVED]
    assert reserved_ranges == [(0x40100000, 0x20000), (0x41000000, 0x1000), (0x42000000, 0x2000)]


def test_no_memory_node_is_no_memory_map_but_the_rest_is_read():
    status, info = parse(fdt.build(root(pl011(), chosen(('bootargs', string('x'))))))
    assert status == errors.E_NO_MEMORY_MAP
    assert info.uart_kind == UART_PL011
    assert info.cmdline_has('x')


# ------------------------------------------------------------------ chosen

def test_bootargs_become_the_command_line():
    status, info = parse(fdt.build(root(memory(), chosen(('bootargs',
                                                         string('elyz.init=hello elyz.exit'))))))
    assert status == errors.OK
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'elyz.init=hello elyz.exit'
    assert info.cmdline_has('elyz.exit')


def test_bootargs_are_bounded_by_max_cmdline_and_by_the_property():
    status, info = parse(fdt.build(root(memory(), chosen(('bootargs', string('x' * 1000))))))
    assert status == errors.OK
    assert info.cmdline_len == MAX_CMDLINE - 1
    # Not NUL-terminated: the copy stops at the property's end.
    status, info = parse(fdt.build(root(memory(), chosen(('bootargs', b'abc'),
                                                         ('zzz', b'defg\x00')))))
    assert status == errors.OK
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'abc'


@pytest.mark.parametrize('width', [4, 8])
def test_initrd_becomes_a_module_at_its_virtual_address_and_is_reserved(width):
    number = u32 if width == 4 else u64
    tree = root(memory(), chosen(('linux,initrd-start', number(0x44000000)),
                                 ('linux,initrd-end', number(0x44123456))))
    status, info = parse(fdt.build(tree))
    assert status == errors.OK
    assert info.module_count == 1
    assert info.module_base[0] == to_word(HHDM + 0x44000000)
    assert info.module_size[0] == 0x123456
    assert (0x44000000, 0x123456, MEM_KERNEL_AND_MODULES) in regions(info)
    assert (0x44124000, RAM_BASE + RAM_SIZE - 0x44124000, MEM_USABLE) in regions(info)


def test_initrd_with_only_one_end_or_empty_is_no_module():
    for props in ([('linux,initrd-start', u32(0x44000000))],
                  [('linux,initrd-end', u32(0x44000000))],
                  [('linux,initrd-start', u32(0x44000000)), ('linux,initrd-end', u32(0x44000000))]):
        status, info = parse(fdt.build(root(memory(), chosen(*props))))
        assert status == errors.OK
        assert info.module_count == 0


def test_initrd_ending_before_it_starts_or_of_odd_width_is_a_bad_size():
    tree = root(memory(), chosen(('linux,initrd-start', u32(0x44000000)),
                                 ('linux,initrd-end', u32(0x43000000))))
    assert parse(fdt.build(tree))[0] == errors.E_BAD_SIZE
    tree = root(memory(), chosen(('linux,initrd-start', b'\x00\x00\x44')))
    assert parse(fdt.build(tree))[0] == errors.E_BAD_SIZE


def test_chosen_properties_elsewhere_are_ignored():
    tree = root(memory(), Node('notchosen', [('bootargs', string('no'))]))
    status, info = parse(fdt.build(tree))
    assert status == errors.OK
    assert info.cmdline_len == 0


# -------------------------------------------------------------------- UART

@pytest.mark.parametrize('compatible, kind', [
    (['arm,pl011', 'arm,primecell'], UART_PL011),
    (['ns16550a'], UART_NS16550),
    (['ns16550'], UART_NS16550),
    (['loongson,ls7a-uart', 'ns16550a'], UART_NS16550),
    (['vendor,fancy-uart', 'ns16550a'], UART_NS16550),      # a later string matches
])
def test_each_known_uart_kind_is_found_by_compatible(compatible, kind):
    tree = root(memory(), device('serial@1fe001e0', compatible, [(0x1fe001e0, 0x100)]))
    status, info = parse(fdt.build(tree))
    assert status == errors.OK
    assert (info.uart_kind, info.uart_base) == (kind, 0x1fe001e0)
    assert (info.uart_reg_shift, info.uart_clock) == (0, 0)


def test_uart_reg_shift_and_clock_frequency():
    tree = root(memory(), ns16550(props=[('reg-shift', u32(2)),
                                         ('clock-frequency', u32(3686400))]))
    status, info = parse(fdt.build(tree))
    assert (status, info.uart_reg_shift, info.uart_clock) == (errors.OK, 2, 3686400)
    tree = root(memory(), ns16550(props=[('clock-frequency', u64(100000000))]))
    assert parse(fdt.build(tree))[1].uart_clock == 100000000


def test_unknown_and_disabled_uarts_are_skipped():
    tree = root(memory(),
                device('serial@1000', ['vendor,unknown-uart'], [(0x1000, 0x100)]),
                pl011(0x9040000, props=[('status', string('disabled'))]),
                pl011(0x9000000, props=[('status', string('okay'))]))
    status, info = parse(fdt.build(tree))
    assert (status, info.uart_kind, info.uart_base) == (errors.OK, UART_PL011, 0x9000000)


def test_uart_under_a_bus_uses_the_bus_cells():
    soc = Node('soc', [('#address-cells', u32(1)), ('#size-cells', u32(1)), ('ranges', b'')],
               [device('serial@10000000', ['ns16550a'], [(0x10000000, 0x100)], n=1)])
    status, info = parse(fdt.build(root(memory(), soc)))
    assert (status, info.uart_base) == (errors.OK, 0x10000000)


def test_no_uart_at_all():
    status, info = parse(fdt.build(root(memory())))
    assert (status, info.uart_kind, info.uart_base) == (errors.OK, UART_NONE, 0)


def stdout_tree(stdout, aliases=None):
    """Two UARTs, the first in the tree at 0x9000000; stdout-path as given."""
    soc = Node('soc', [('#address-cells', u32(2)), ('#size-cells', u32(2))],
               [ns16550(0x10000000, props=[('clock-frequency', u32(3686400))])])
    children = [memory(), pl011(0x9000000), soc]
    if aliases is not None:
        children.append(Node('aliases', [(name, string(path)) for name, path in aliases]))
    children.append(chosen(('stdout-path', string(stdout))))
    return root(*children)


@pytest.mark.parametrize('stdout', ['/soc/serial@10000000', '/soc/serial@10000000:115200n8',
                                    '/soc/serial', '/soc/serial:115200'])
def test_stdout_path_picks_the_uart(stdout):
    status, info = parse(fdt.build(stdout_tree(stdout)))
    assert status == errors.OK
    assert (info.uart_kind, info.uart_base, info.uart_clock) == (UART_NS16550, 0x10000000, 3686400)


@pytest.mark.parametrize('stdout', ['serial1', 'serial1:115200n8'])
def test_stdout_path_through_an_alias(stdout):
    aliases = [('serial0', '/pl011@9000000'), ('serial1', '/soc/serial@10000000'),
               ('serial10', '/nothing')]
    status, info = parse(fdt.build(stdout_tree(stdout, aliases)))
    assert status == errors.OK
    assert (info.uart_kind, info.uart_base) == (UART_NS16550, 0x10000000)


def test_aliases_after_chosen_are_found_too():
    tree = stdout_tree('serial1')
    tree.children.append(Node('aliases', [('serial1', string('/soc/serial@10000000'))]))
    assert parse(fdt.build(tree))[1].uart_base == 0x10000000


@pytest.mark.parametrize('stdout, aliases', [
    ('/soc/serial@20000000', None),          # no such node
    ('/soc', None),                          # not a UART
    ('/soc/serial@10000000/x', None),        # below the UART
    ('serial9', [('serial1', '/soc/serial@10000000')]),   # unknown alias
    ('serial1', None),                       # no /aliases
    (':115200', None),                       # empty path
    ('serial1', [('serial1', 'soc/serial@10000000')]),    # alias not a full path
])
def test_unresolvable_stdout_path_falls_back_to_the_first_uart(stdout, aliases):
    status, info = parse(fdt.build(stdout_tree(stdout, aliases)))
    assert status == errors.OK
    assert (info.uart_kind, info.uart_base) == (UART_PL011, 0x9000000)


def test_legacy_linux_stdout_path_is_honoured():
    tree = stdout_tree('/pl011@9000000')
    tree.children[-1].props = [('linux,stdout-path', string('/soc/serial@10000000'))]
    assert parse(fdt.build(tree))[1].uart_base == 0x10000000


# --------------------------------------------------- interrupt controllers

@pytest.mark.parametrize('compatible, reg, kind, base0, base1', [
    (['arm,cortex-a15-gic'], [(0x8000000, 0x10000), (0x8010000, 0x10000)],
     INTC_GICV2, 0x8000000, 0x8010000),
    (['arm,gic-400'], [(0x2f000000, 0x1000), (0x2f002000, 0x2000)],
     INTC_GICV2, 0x2f000000, 0x2f002000),
    (['arm,gic-v3'], [(0x8000000, 0x10000), (0x80a0000, 0xf60000)],
     INTC_GICV3, 0x8000000, 0x80a0000),
    (['sifive,plic-1.0.0', 'riscv,plic0'], [(0xc000000, 0x600000)], INTC_PLIC, 0xc000000, 0),
    (['riscv,plic0'], [(0xc000000, 0x600000)], INTC_PLIC, 0xc000000, 0),
    (['arm,gic-v3'], [(0x8000000, 0x10000)], INTC_GICV3, 0x8000000, 0),
])
def test_each_known_interrupt_controller(compatible, reg, kind, base0, base1):
    intc = device('intc@%x' % reg[0][0], compatible, reg,
                  props=[('interrupt-controller', b''), ('#interrupt-cells', u32(3))])
    status, info = parse(fdt.build(root(memory(), intc)))
    assert status == errors.OK
    assert (info.intc_kind, info.intc_base0, info.intc_base1) == (kind, base0, base1)


def test_first_interrupt_controller_wins_and_unknown_ones_are_skipped():
    tree = root(memory(),
                device('intc@10000000', ['loongarch,ls7a'], [(0x10000000, 0x100)]),
                device('intc@8000000', ['arm,gic-v3'], [(0x8000000, 0x10000)]),
                device('intc@9000000', ['arm,gic-400'], [(0x9000000, 0x1000)]))
    status, info = parse(fdt.build(tree))
    assert (info.intc_kind, info.intc_base0) == (INTC_GICV3, 0x8000000)


@pytest.mark.parametrize('value', [u32(10000000), u64(10000000)])
def test_timebase_frequency_of_cpus(value):
    cpus = Node('cpus', [('#address-cells', u32(1)), ('#size-cells', u32(0)),
                         ('timebase-frequency', value)],
                [Node('cpu@0', [('reg', u32(0)), ('timebase-frequency', u32(5))])])
    status, info = parse(fdt.build(root(memory(), cpus)))
    assert (status, info.timebase_frequency) == (errors.OK, 10000000)


def test_nops_anywhere_are_skipped():
    table = fdt.StringTable()
    block = (fdt.nop() + fdt.begin_node('') + fdt.nop()
             + fdt.prop(table.offset('#address-cells'), u32(1)) + fdt.nop()
             + fdt.prop(table.offset('#size-cells'), u32(1))
             + fdt.begin_node('memory@0') + fdt.nop()
             + fdt.prop(table.offset('reg'), cells(1, 0, 0x1000000))
             + fdt.end_node() + fdt.nop() + fdt.end_node() + fdt.nop() + fdt.end())
    status, info = parse(fdt.assemble(block, table.data), phys=0x2000000)
    assert status == errors.OK
    assert usable(info) == [(0, 0x1000000)]


# ------------------------------------------------------------- bad blobs

def test_null_or_misaligned_blob_is_a_bad_address():
    assert parse_devicetree(0, 0, 0, BootInfo()) == errors.E_BAD_ADDRESS
    machine = Machine()
    machine.place(0x1000, fdt.build(root(memory())).data)
    assert parse_devicetree(machine.virt(0x1004), 0x1004, to_word(HHDM),
                            BootInfo()) == errors.E_BAD_ADDRESS


GOOD = root(memory(), pl011(), chosen(('bootargs', string('a b'))))


@pytest.mark.parametrize('overrides, expected', [
    (dict(magic=0xedfe0dd0), errors.E_BAD_MAGIC),
    (dict(version=16), errors.E_BAD_VERSION),
    (dict(last_comp_version=18), errors.E_BAD_VERSION),
    (dict(totalsize=39), errors.E_TRUNCATED),
    (dict(totalsize=0), errors.E_TRUNCATED),
    (dict(totalsize=0xffffffff), errors.E_BAD_SIZE),
    (dict(totalsize=200), errors.E_TRUNCATED),               # cuts the blocks
    (dict(off_dt_struct=0x10000), errors.E_TRUNCATED),
    (dict(size_dt_struct=0xfffffffc), errors.E_TRUNCATED),
    (dict(off_dt_strings=0xffffff00), errors.E_TRUNCATED),
    (dict(size_dt_strings=0x10000), errors.E_TRUNCATED),
    (dict(off_mem_rsvmap=0x10000), errors.E_TRUNCATED),
    (dict(off_dt_struct=58), errors.E_BAD_ADDRESS),          # misaligned
    (dict(off_mem_rsvmap=44), errors.E_BAD_ADDRESS),
    (dict(off_dt_struct=0), errors.E_BAD_ADDRESS),           # inside the header
    (dict(off_dt_strings=8), errors.E_BAD_ADDRESS),
    (dict(size_dt_struct=0), errors.E_TRUNCATED),
    (dict(size_dt_strings=0), errors.E_TRUNCATED),           # every name outside
])
def test_bad_headers_are_refused(overrides, expected):
    status, info = parse(fdt.build(GOOD, **overrides))
    assert status == expected
    assert info.protocol == PROTOCOL_DEVICETREE


def test_reservation_block_without_its_end_entry_is_truncated():
    good = fdt.build(GOOD).data
    good += b'\x00' * (-len(good) % 8)
    # the block moved to the blob's end, one entry and no end entry before totalsize
    data = good + u64(0x1000, 0x1000)
    bad = fdt.Blob(u32(fdt.FDT_MAGIC, len(data)) + data[8:16] + u32(len(good)) + data[20:],
                   {})
    assert parse(bad)[0] == errors.E_TRUNCATED
    assert parse(bad.data + u64(0, 0))[0] == errors.E_TRUNCATED      # still cut by totalsize


def _names(*names):
    table = fdt.StringTable()
    for name in names:
        table.offset(name)
    return table


def _block(*tokens):
    return b''.join(tokens)


CELLS = fdt.prop(0, u32(2))       # '#address-cells' at offset 0 of _names('#address-cells')


@pytest.mark.parametrize('block, expected', [
    # an unterminated node name, running into the end of the block
    (_block(u32(1), b'abcd'), errors.E_TRUNCATED),
    # a bad token
    (_block(fdt.begin_node(''), u32(7), fdt.end_node(), fdt.end()), errors.E_BAD_STRUCTURE),
    (_block(fdt.begin_node(''), u32(0), fdt.end_node(), fdt.end()), errors.E_BAD_STRUCTURE),
    # a property whose length runs past the block
    (_block(fdt.begin_node(''), u32(3, 0x1000, 0), u32(2), fdt.end_node(), fdt.end()),
     errors.E_TRUNCATED),
    (_block(fdt.begin_node(''), u32(3, 0xffffffff, 0)), errors.E_TRUNCATED),
    # a property header cut by the end of the block
    (_block(fdt.begin_node(''), u32(3, 4)), errors.E_TRUNCATED),
    # a name offset past the strings block
    (_block(fdt.begin_node(''), fdt.prop(0x100, u32(2)), fdt.end_node(), fdt.end()),
     errors.E_TRUNCATED),
    # no FDT_END / no end at all
    (_block(fdt.begin_node(''), CELLS, fdt.end_node()), errors.E_TRUNCATED),
    (_block(fdt.begin_node(''), CELLS), errors.E_TRUNCATED),
    (b'', errors.E_TRUNCATED),
    # unbalanced or misplaced tokens
    (_block(fdt.end_node(), fdt.end()), errors.E_BAD_STRUCTURE),
    (_block(CELLS, fdt.begin_node(''), fdt.end_node(), fdt.end()), errors.E_BAD_STRUCTURE),
    (_block(fdt.begin_node(''), fdt.end()), errors.E_BAD_STRUCTURE),
    (_block(fdt.end()), errors.E_BAD_STRUCTURE),
    (_block(fdt.begin_node(''), fdt.end_node(), fdt.end_node(), fdt.end()),
     errors.E_BAD_STRUCTURE),
    (_block(fdt.begin_node(''), fdt.end_node(), fdt.begin_node(''), fdt.end_node(), fdt.end()),
     errors.E_BAD_STRUCTURE),
    (_block(fdt.begin_node(''), fdt.end_node(), CELLS, fdt.end()), errors.E_BAD_STRUCTURE),
    # nested deeper than the walker's table
    (_block(*([fdt.begin_node('n')] * 17 + [fdt.end_node()] * 17 + [fdt.end()])),
     errors.E_BAD_STRUCTURE),
    # #cells of a wrong length or too many
    (_block(fdt.begin_node(''), fdt.prop(0, u64(2)), fdt.end_node(), fdt.end()),
     errors.E_BAD_SIZE),
    (_block(fdt.begin_node(''), fdt.prop(0, u32(5)), fdt.end_node(), fdt.end()),
     errors.E_BAD_SIZE),
])
def test_malformed_structure_blocks_are_refused(block, expected):
    blob = fdt.assemble(block, _names('#address-cells').data)
    assert parse(blob)[0] == expected


def test_unterminated_property_name_is_truncated():
    block = _block(fdt.begin_node(''), fdt.prop(0, u32(2)), fdt.end_node(), fdt.end())
    assert parse(fdt.assemble(block, b'#address-cells'))[0] == errors.E_TRUNCATED
    # the name runs to the end of the strings block, past which the blob goes on
    blob = fdt.assemble(block, b'#address-cells\x00', size_dt_strings=14)
    assert parse(blob)[0] == errors.E_TRUNCATED


@pytest.mark.parametrize('props', [
    [('reg-shift', u64(2))], [('reg-shift', u32(9))], [('clock-frequency', b'\x01\x02\x03')]])
def test_uart_properties_of_a_wrong_size_are_refused(props):
    assert parse(fdt.build(root(memory(), ns16550(props=props))))[0] == errors.E_BAD_SIZE


def test_timebase_frequency_of_a_wrong_size_is_refused():
    cpus = Node('cpus', [('timebase-frequency', b'\x00\x01')])
    assert parse(fdt.build(root(memory(), cpus)))[0] == errors.E_BAD_SIZE


def test_sixteen_levels_of_nesting_are_fine():
    node = memory()
    for i in range(14):           # root + 14 + memory = 16 levels
        node = Node('n%d' % i, [], [node])
    status, info = parse(fdt.build(root(memory(), node)))
    assert status == errors.OK


FUZZ_BLOB = fdt.build(stdout_tree('serial1:115200', [('serial1', '/soc/serial@10000000')]),
                      reservations=[(0x40001000, 0x1000)]).data
FUZZ_CODES = set([errors.OK, errors.E_BAD_MAGIC, errors.E_BAD_VERSION, errors.E_BAD_SIZE,
                  errors.E_TRUNCATED, errors.E_BAD_ADDRESS, errors.E_NO_MEMORY_MAP,
                  errors.E_BAD_STRUCTURE])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, len(FUZZ_BLOB) - 1), st.integers(0, 255)),
                min_size=1, max_size=6))
def test_corrupted_blobs_never_read_outside_totalsize(changes):
    data = bytearray(FUZZ_BLOB)
    for offset, value in changes:
        data[offset] = value
    declared = _declared_totalsize(data)
    machine = Machine()
    machine.place(DTB_PHYS, bytes(data[:max(8, min(declared, len(data)))]))
    if 40 <= declared <= 32 * MIB and declared > len(data):
        # the blob says it is longer: that much is readable (as zeros)
        machine.memory.add_region(HHDM + DTB_PHYS + len(data), declared - len(data))
    info = BootInfo()
    status = parse_devicetree(machine.virt(DTB_PHYS), DTB_PHYS, to_word(HHDM), info)
    assert status in FUZZ_CODES
    assert info.memmap_count <= bootinfo.MAX_MEMMAP_ENTRIES


# --------------------------------------------------- QEMU's own blobs

QEMU_MACHINES = {
    'aarch64': ['-M', 'virt', '-cpu', 'cortex-a72'],
    'riscv64': ['-M', 'virt'],
    'loongarch64': ['-M', 'virt'],
}


def qemu_dtb(tmpdir, arch, memory_size, extra=(), append=None, initrd=None):
    """Has qemu-system-<arch> dump its DTB; returns its bytes (skips the
    test when QEMU is not installed)."""
    binary = find_executable('qemu-system-' + arch)
    if binary is None:
        pytest.skip('qemu-system-%s is not installed' % arch)
    out = str(tmpdir.join('%s.dtb' % arch))
    command = [binary] + QEMU_MACHINES[arch] + list(extra) + [
        '-m', memory_size, '-display', 'none', '-machine', 'dumpdtb=' + out]
    if append is not None or initrd is not None:
        kernel = tmpdir.join('kernel.bin')
        kernel.write(b'\x00' * 4096, mode='wb')
        command += ['-kernel', str(kernel)]
        if append is not None:
            command += ['-append', append]
        if initrd is not None:
            command += ['-initrd', initrd]
    with open(os.devnull, 'wb') as devnull:
        subprocess.check_call(command, stdout=devnull, stderr=devnull)
    with open(out, 'rb') as f:
        return f.read()


def pages(size):
    return (size + 4095) & ~4095


def parse_real(data, phys):
    machine = Machine()
    machine.place(phys, data[:_declared_totalsize(data)])   # nothing past totalsize
    info = BootInfo()
    return parse_devicetree(machine.virt(phys), phys, to_word(HHDM), info), info


def real_initrd(tmpdir):
    path = tmpdir.join('initrd.img')
    path.write(b'0707010000' * 300, mode='wb')      # 3000 bytes
    return str(path)


@pytest.mark.parametrize('size, mib', [('128M', 128), ('2G', 2048)])
def test_qemu_aarch64_virt(tmpdir, size, mib):
    data = qemu_dtb(tmpdir, 'aarch64', size, append='elyz.init=hello elyz.exit',
                    initrd=real_initrd(tmpdir))
    status, info = parse_real(data, 0x40000000)        # the start of RAM
    assert status == errors.OK
    assert info.dtb_size == _declared_totalsize(data)
    assert memmap.usable_top(info) == 0x40000000 + mib * MIB
    assert memmap.total_usable_bytes(info) == mib * MIB - pages(info.dtb_size) - 4096
    assert (info.uart_kind, info.uart_base) == (UART_PL011, 0x9000000)
    assert (info.intc_kind, info.intc_base0, info.intc_base1) == (INTC_GICV2, 0x8000000,
                                                                  0x8010000)
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'elyz.init=hello elyz.exit'
    assert info.module_count == 1 and info.module_size[0] == 3000
    start = info.module_base[0] - to_word(HHDM)
    assert (start, 3000, MEM_KERNEL_AND_MODULES) in regions(info)
    assert info.timebase_frequency == 0


def test_qemu_aarch64_virt_with_gicv3(tmpdir):
    data = qemu_dtb(tmpdir, 'aarch64', '128M', extra=['-M', 'virt,gic-version=3'])
    status, info = parse_real(data, 0x40000000)
    assert status == errors.OK
    assert (info.intc_kind, info.intc_base0, info.intc_base1) == (INTC_GICV3, 0x8000000,
                                                                  0x80a0000)
    assert info.cmdline_len == 0 and info.module_count == 0


@pytest.mark.parametrize('size, mib', [('128M', 128), ('2G', 2048)])
def test_qemu_riscv64_virt(tmpdir, size, mib):
    data = qemu_dtb(tmpdir, 'riscv64', size, append='a b', initrd=real_initrd(tmpdir))
    top = 0x80000000 + mib * MIB
    # where QEMU puts it: below the end of RAM or 3 GiB, 2 MiB aligned
    dtb_phys = (min(top, 0xc0000000) - _declared_totalsize(data)) & ~(2 * MIB - 1)
    status, info = parse_real(data, dtb_phys)
    assert status == errors.OK
    assert memmap.usable_top(info) == top
    assert (info.uart_kind, info.uart_base, info.uart_clock) == (UART_NS16550, 0x10000000,
                                                                 3686400)
    assert (info.intc_kind, info.intc_base0, info.intc_base1) == (INTC_PLIC, 0xc000000, 0)
    assert info.timebase_frequency == 10000000
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'a b'
    assert info.module_count == 1 and info.module_size[0] == 3000
    # the firmware's own reservation (OpenSBI's PMP region) is not in the tree;
    # all of RAM but the blob and the initrd is usable
    assert memmap.total_usable_bytes(info) == mib * MIB - pages(info.dtb_size) - 4096


@pytest.mark.parametrize('size', ['1G', '2G'])
def test_qemu_loongarch64_virt(tmpdir, size):
    data = qemu_dtb(tmpdir, 'loongarch64', size)
    status, info = parse_real(data, 0x100000)
    # QEMU 7.2 describes loongarch64 memory only in its EFI-style boot
    # parameters, not in the tree; newer versions add /memory nodes.
    assert status in (errors.OK, errors.E_NO_MEMORY_MAP)
    if status == errors.OK:
        assert memmap.total_usable_bytes(info) > 0
    assert (info.uart_kind, info.uart_base, info.uart_clock) == (UART_NS16550, 0x1fe001e0,
                                                                 100000000)
    assert info.intc_kind == INTC_NONE          # its LS7A controller is not in our table
    assert (0x100000, info.dtb_size, MEM_BOOTLOADER_RECLAIMABLE) in regions(info)


# --------------------------------------------------- the kernel's dispatch

def test_read_boot_info_parses_a_devicetree_at_phys_plus_hhdm():
    machine = Machine()
    machine.place(0x1000, fdt.build(root(memory(), pl011())).data)
    info = BootInfo()
    status = boot.read_boot_info(bootinfo.PROTOCOL_DEVICETREE, 0x1000, to_word(HHDM), info)
    assert status == errors.OK
    assert (info.protocol, info.dtb_phys, info.uart_base) == (PROTOCOL_DEVICETREE, 0x1000,
                                                              0x9000000)
    assert usable(info)[-1][0] + usable(info)[-1][1] == RAM_BASE + RAM_SIZE


def test_read_boot_info_passes_devicetree_errors_on():
    machine = Machine()
    machine.place(0x1000, b'\x00' * 64)
    status = boot.read_boot_info(bootinfo.PROTOCOL_DEVICETREE, 0x1000, to_word(HHDM), BootInfo())
    assert status == errors.E_BAD_MAGIC
    assert boot.error_name(status) == 'bad magic'
    assert errors.error_name(errors.E_BAD_STRUCTURE) == 'bad structure'


def test_log_summary_names_the_uart_and_interrupt_controller():
    intc = device('intc@8000000', ['arm,cortex-a15-gic'], [(0x8000000, 0x10000),
                                                             (0x8010000, 0x10000)])
    status, info = parse(fdt.build(root(memory(), ns16550(props=[('clock-frequency',
                                                                   u32(3686400))]), intc)))
    log.reset_for_tests()
    boot.log_summary(info)
    assert 'uart: ns16550 at 0x10000000, clock 3686400 Hz' in log.captured
    assert 'interrupt controller: gicv2 at 0x8000000, 0x8010000' in log.captured
    log.reset_for_tests()
    boot.log_summary(parse(fdt.build(root(memory())))[1])
    assert not [line for line in log.captured if line.startswith(('uart', 'interrupt'))]


# ------------------------------------------ devices only (Limine's tree)

def parse_devices_of(blob, info):
    """Places blob as parse() does and reads only its devices into info;
    returns the status."""
    machine = Machine()
    data = blob.data
    machine.place(DTB_PHYS, data[:blob.totalsize])
    return parse_devices(machine.virt(DTB_PHYS), info)


def limine_like_info():
    """A BootInfo as Limine's parser leaves it: memory map, command line,
    a module, the protocol."""
    info = BootInfo()
    info.protocol = bootinfo.PROTOCOL_LIMINE
    memmap.add_region(info, 0x40000000, 0x1000000, MEM_USABLE)
    info.set_bootloader_name('Limine')
    info.add_module(to_word(HHDM + 0x41000000), 4096)
    return info


def test_devices_only_fills_uart_interrupt_controller_and_timebase():
    gic = device('intc@8000000', ['arm,cortex-a15-gic'], [(0x8000000, 0x10000),
                                                          (0x8010000, 0x10000)])
    cpus = Node('cpus', [('#address-cells', u32(1)), ('#size-cells', u32(0)),
                         ('timebase-frequency', u32(10000000))])
    info = limine_like_info()
    status = parse_devices_of(fdt.build(root(gic, pl011(), cpus)), info)
    assert status == errors.OK
    assert (info.uart_kind, info.uart_base) == (UART_PL011, 0x9000000)
    assert (info.intc_kind, info.intc_base0, info.intc_base1) == (INTC_GICV2, 0x8000000,
                                                                   0x8010000)
    assert info.timebase_frequency == 10000000


def test_devices_only_keeps_the_memory_map_command_line_and_modules():
    info = limine_like_info()
    info.set_cmdline_from(0, 0)
    before = (regions(info), info.module_count, info.protocol, info.cmdline_len,
              info.bootloader_len)
    tree = root(memory(0x50000000), pl011(),
                chosen(('bootargs', string('from the tree')),
                       ('linux,initrd-start', u64(0x48000000)),
                       ('linux,initrd-end', u64(0x48001000))))
    blob = fdt.build(tree)
    status = parse_devices_of(blob, info)
    assert status == errors.OK
    assert (regions(info), info.module_count, info.protocol, info.cmdline_len,
            info.bootloader_len) == before
    assert info.dtb_size == blob.totalsize and info.uart_base == 0x9000000


def test_devices_only_lays_the_trees_reservations_over_the_map():
    # U-Boot's EFI map calls OpenSBI's first 512 KiB usable; its tree does not
    info = limine_like_info()
    opensbi = Node('reserved-memory', [('#address-cells', u32(2)), ('#size-cells', u32(2)),
                                       ('ranges', b'')],
                   [Node('mmode_resv0@40000000', [('reg', cells(2, 0x40000000, 0x80000))])])
    blob = fdt.build(root(opensbi, pl011()), reservations=[(0x40800000, 0x1000)])
    assert parse_devices_of(blob, info) == errors.OK
    assert regions(info) == [(0x40000000, 0x80000, MEM_RESERVED),
                             (0x40080000, 0x780000, MEM_USABLE),
                             (0x40800000, 0x1000, MEM_RESERVED),
                             (0x40801000, 0x7ff000, MEM_USABLE)]


def test_devices_only_follows_stdout_path_and_forgets_earlier_devices():
    info = limine_like_info()
    info.uart_kind, info.uart_base, info.timebase_frequency = UART_PL011, 0x1234000, 7
    status = parse_devices_of(fdt.build(stdout_tree('/soc/serial@10000000')), info)
    assert status == errors.OK
    assert (info.uart_kind, info.uart_base) == (UART_NS16550, 0x10000000)
    assert info.timebase_frequency == 0 and info.intc_kind == INTC_NONE


def test_devices_only_refuses_a_bad_blob_and_the_next_full_parse_reads_memory_again():
    info = limine_like_info()
    assert parse_devices_of(fdt.build(root(pl011()), version=16), info) == errors.E_BAD_VERSION
    status, full = parse(fdt.build(root(memory(), pl011())))
    assert status == errors.OK and usable(full)[0][1] > RAM_SIZE - MIB


# ---------------------------------------------------------------- RPython

def _devicetree_entry(dtb_virtual_address, dtb_phys, hhdm_offset):
    status = parse_devicetree(dtb_virtual_address, dtb_phys, hhdm_offset, bootinfo.boot_info)
    if status == 0:
        status = parse_devices(dtb_virtual_address, bootinfo.boot_info)
    return status


def test_devicetree_parser_is_valid_rpython_and_allocates_nothing():
    rtype_allocation_free([(_devicetree_entry, [int, int, int])],
                          module_prefix='elyz.boot.devicetree', unoptimised=True)


def _boot_entry(dtb_phys, hhdm_offset):
    status = boot.read_boot_info(bootinfo.PROTOCOL_DEVICETREE, dtb_phys, hhdm_offset,
                                 bootinfo.boot_info)
    boot.log_devices(bootinfo.boot_info)
    return status


def test_the_kernels_dispatch_and_device_log_allocate_nothing():
    t = rtype_allocation_free([(_boot_entry, [int, int])], roots=[_boot_entry])
    assert reaches(t, _boot_entry, parse_devicetree)
