"""Port I/O: the C the kernel is compiled with, and the untranslated
emulation."""

from elyz.rlib_kernel import ports
from tests.runtime.c_asm import asm_statements
from tests.support import rpycheck

PORT_FUNCTIONS = 6          # inb/outb, inw/outw, inl/outl


def ports_c_text():
    return ''.join(ports._PORTS_ECI.post_include_bits)


def test_every_port_access_is_ordered_with_memory_accesses():
    """A device access must not move across the loads and stores around it
    (a DMA buffer filled before an outb that starts the device, a status
    read before the data it announces): every asm statement with operands
    has a "memory" clobber, besides being volatile."""
    statements = asm_statements(ports_c_text())
    assert len(statements) == PORT_FUNCTIONS
    for asm in statements:
        assert asm.has_operands, asm.text
        assert 'volatile' in asm.text.split('(')[0], 'not volatile: %s' % asm.text
        assert 'memory' in asm.clobber_names, 'no "memory" clobber: %s' % asm.text


def test_the_emulation_records_writes_with_their_width_and_answers_reads():
    fake = ports.emulate()
    ports.outb(0x80, 0x1AB)
    ports.outw(0x1F0, 0x12345)
    ports.outl(0xCF8, 0x180000000)
    assert fake.writes == [(0x80, 1, 0xAB), (0x1F0, 2, 0x2345), (0xCF8, 4, 0x80000000)]
    fake.values[0x60] = 0x1C
    assert ports.inb(0x60) == 0x1C
    assert ports.inw(0x1F0) == 0xFFFF           # nothing there: all ones
    assert ports.inl(0xCFC) == 0xFFFFFFFF
    assert ports.inb(0x3F8 + 5) == 0x60         # the 16550 is always ready to transmit
    assert fake.bytes_written_to(0x80) == '\xab'


def _ports_entry(port):
    ports.outb(port, ports.inb(port))
    ports.outw(port, ports.inw(port))
    ports.outl(port, ports.inl(port))
    return 0


def test_ports_are_valid_rpython():
    rpycheck.rtype([(_ports_entry, [int])])
