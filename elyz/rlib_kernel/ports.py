"""x86 port I/O.

    outb(port, value)   inb(port) -> value   (8-bit)
    outw / inw (16-bit), outl / inl (32-bit)

Untranslated, ports are emulated: `emulate(FakePorts())` installs an object
whose `read(port, size)` / `write(port, size, value)` methods stand in for
the devices (the default one records writes and reads 0xff for unknown
ports, and emulates a 16550 that is always ready to transmit).
"""

from rpython.rlib.objectmodel import we_are_translated
from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

# Every statement is volatile and clobbers "memory": a device access must
# neither be dropped nor move across the loads and stores around it (a
# buffer filled before the outb that starts a device, a status read before
# the data it announces).
_PORTS_ECI = ExternalCompilationInfo(post_include_bits=["""
static inline void elyz_outb(long port, long value)
{ __asm__ volatile("outb %b0, %w1" : : "a"((unsigned char)value), "Nd"((unsigned short)port) : "memory"); }
static inline long elyz_inb(long port)
{ unsigned char v; __asm__ volatile("inb %w1, %b0" : "=a"(v) : "Nd"((unsigned short)port) : "memory"); return v; }
static inline void elyz_outw(long port, long value)
{ __asm__ volatile("outw %w0, %w1" : : "a"((unsigned short)value), "Nd"((unsigned short)port) : "memory"); }
static inline long elyz_inw(long port)
{ unsigned short v; __asm__ volatile("inw %w1, %w0" : "=a"(v) : "Nd"((unsigned short)port) : "memory"); return v; }
static inline void elyz_outl(long port, long value)
{ __asm__ volatile("outl %0, %w1" : : "a"((unsigned int)value), "Nd"((unsigned short)port) : "memory"); }
static inline long elyz_inl(long port)
{ unsigned int v; __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"((unsigned short)port) : "memory"); return v; }
"""])


class FakePorts(object):
    """Untranslated stand-in for the I/O port space."""
    LSR_PORTS = (0x3f8 + 5, 0x2f8 + 5)

    def __init__(self):
        self.writes = []           # (port, size, value) in order
        self.values = {}           # port -> value returned by reads

    def read(self, port, size):
        if port in self.values:
            return self.values[port]
        if port in self.LSR_PORTS:
            return 0x60            # transmitter empty
        return (1 << (8 * size)) - 1

    def write(self, port, size, value):
        self.writes.append((port, size, value))

    def bytes_written_to(self, port):
        """Returns the bytes written to port, as a str."""
        return ''.join(chr(v & 0xFF) for p, s, v in self.writes if p == port)


_fake = [FakePorts()]


def emulate(fake=None):
    """Untranslated only: installs fake (a new FakePorts when None); returns it."""
    if fake is None:
        fake = FakePorts()
    _fake[0] = fake
    return fake


def emulated():
    """Untranslated only: returns the FakePorts in use."""
    return _fake[0]


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_PORTS_ECI,
                           _nowrapper=True, sandboxsafe=True, releasegil=False,
                           _callable=emulation)


_outb = _ext('elyz_outb', [lltype.Signed, lltype.Signed], lltype.Void,
             lambda port, value: _fake[0].write(port, 1, value & 0xFF))
_inb = _ext('elyz_inb', [lltype.Signed], lltype.Signed, lambda port: _fake[0].read(port, 1))
_outw = _ext('elyz_outw', [lltype.Signed, lltype.Signed], lltype.Void,
             lambda port, value: _fake[0].write(port, 2, value & 0xFFFF))
_inw = _ext('elyz_inw', [lltype.Signed], lltype.Signed, lambda port: _fake[0].read(port, 2))
_outl = _ext('elyz_outl', [lltype.Signed, lltype.Signed], lltype.Void,
             lambda port, value: _fake[0].write(port, 4, value & 0xFFFFFFFF))
_inl = _ext('elyz_inl', [lltype.Signed], lltype.Signed, lambda port: _fake[0].read(port, 4))


def outb(port, value):
    """Writes the low 8 bits of value to port; returns nothing."""
    _outb(port, value)


def inb(port):
    """Returns the byte read from port (0..0xFF)."""
    return _inb(port)


def outw(port, value):
    """Writes the low 16 bits of value to port; returns nothing."""
    _outw(port, value)


def inw(port):
    """Returns the 16-bit word read from port (0..0xFFFF)."""
    return _inw(port)


def outl(port, value):
    """Writes the low 32 bits of value to port; returns nothing."""
    _outl(port, value)


def inl(port):
    """Returns the 32-bit word read from port (0..0xFFFFFFFF)."""
    return _inl(port)
