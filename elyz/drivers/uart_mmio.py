"""Memory-mapped UARTs of the ports: the serial log of aarch64 (PL011),
riscv64 (NS16550A) and loongarch64 (an NS16550-compatible UART).

    Ns16550(base, reg_shift)   registers 1 << reg_shift bytes apart
    Pl011(base)
    UART                       the port's log sink: a prebuilt MmioUart that
                               configure() points at one of the two kinds
    configure(kind, base) -> True when kind is a UART this module drives;
                               base is the *virtual* address of the registers

Each has init() -> True and put_char(c) (CR before LF); put_byte waits for
the transmitter a bounded number of polls, then drops the byte (a log must
never hang the kernel).  The firmware (QEMU, OpenSBI) has already set the
line up, so init() only checks for a configured base and enables the
transmitter where the device needs it.  Untranslated, the registers are
rawmem's simulated memory (tests/drivers/test_uart_mmio.py).
"""

from elyz.lib.log import LogSink
from elyz.rlib_kernel import mmio

KIND_NONE = 0
KIND_PL011 = 1                  # elyz/boot/bootinfo.py UART_PL011
KIND_NS16550 = 2                # UART_NS16550

# NS16550 registers (index, scaled by 1 << reg_shift) and bits.
NS_DATA = 0
NS_INT_ENABLE = 1
NS_FIFO_CTRL = 2
NS_LINE_STATUS = 5
NS_THR_EMPTY = 0x20
# PL011 registers (byte offsets) and bits (ARM DDI 0183).
PL011_DR = 0x00
PL011_FR = 0x18
PL011_CR = 0x30
PL011_IMSC = 0x38
PL011_FR_TXFF = 1 << 5          # transmit FIFO full
PL011_CR_UARTEN = 1 << 0
PL011_CR_TXE = 1 << 8
SPIN_LIMIT = 100000


class MmioUart(LogSink):
    def __init__(self):
        self.kind = KIND_NONE
        self.base = 0
        self.reg_shift = 0

    def configure(self, kind, base, reg_shift):
        """Points the sink at a UART of kind at virtual base; returns True
        when kind is one this module drives (else the sink drops output)."""
        if kind != KIND_PL011 and kind != KIND_NS16550:
            self.kind = KIND_NONE
            return False
        self.kind = kind
        self.base = base
        self.reg_shift = reg_shift
        return True

    def init(self):
        """Masks the UART's interrupts and enables its transmitter; returns
        True when a UART is configured."""
        if self.kind == KIND_PL011:
            mmio.write32(self.base + PL011_IMSC, 0)
            cr = mmio.read32(self.base + PL011_CR)
            mmio.write32(self.base + PL011_CR, cr | PL011_CR_UARTEN | PL011_CR_TXE)
            return True
        if self.kind == KIND_NS16550:
            mmio.write8(self._ns(NS_INT_ENABLE), 0)
            return True
        return False

    def _ns(self, index):
        return self.base + (index << self.reg_shift)

    def put_byte(self, value):
        """Sends one byte, waiting (bounded) for room; drops it without a UART."""
        spins = 0
        if self.kind == KIND_PL011:
            while mmio.read32(self.base + PL011_FR) & PL011_FR_TXFF:
                spins += 1
                if spins > SPIN_LIMIT:
                    return
            mmio.write32(self.base + PL011_DR, value)
        elif self.kind == KIND_NS16550:
            while (mmio.read8(self._ns(NS_LINE_STATUS)) & NS_THR_EMPTY) == 0:
                spins += 1
                if spins > SPIN_LIMIT:
                    return
            mmio.write8(self._ns(NS_DATA), value)

    def put_char(self, c):
        """Sends c, with CR before LF for terminals."""
        if c == '\n':
            self.put_byte(ord('\r'))
        self.put_byte(ord(c))


UART = MmioUart()
