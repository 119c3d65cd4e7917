"""The ports' memory-mapped UARTs (PL011, NS16550) over simulated registers:
set-up, bytes sent, CR before LF, and a bounded wait that never hangs."""

import pytest

from elyz.drivers import uart_mmio
from elyz.rlib_kernel import rawmem
from tests.support.uart_registers import UartRegisters

BASE = rawmem.to_word(0xffff800009000000)
WINDOW = 0x1000


@pytest.fixture
def regs():
    memory = UartRegisters(BASE, WINDOW)
    rawmem.simulate(memory)
    yield memory
    rawmem.simulate()


def pl011(regs):
    uart = uart_mmio.MmioUart()
    assert uart.configure(uart_mmio.KIND_PL011, BASE, 0)
    regs.status = BASE + uart_mmio.PL011_FR
    return uart


def ns16550(regs, reg_shift):
    uart = uart_mmio.MmioUart()
    assert uart.configure(uart_mmio.KIND_NS16550, BASE, reg_shift)
    regs.status = BASE + (uart_mmio.NS_LINE_STATUS << reg_shift)
    regs.busy, regs.ready = 0, uart_mmio.NS_THR_EMPTY
    regs.busy_reads = 0
    return uart


# -------------------------------------------------------------- PL011

def test_pl011_init_masks_interrupts_and_enables_uart_and_transmitter(regs):
    rawmem.store_u32(BASE + uart_mmio.PL011_IMSC, 0x7FF)
    rawmem.store_u32(BASE + uart_mmio.PL011_CR, 1 << 9)         # RXE, as firmware left it
    uart = pl011(regs)
    assert uart.init()
    assert rawmem.load_u32(BASE + uart_mmio.PL011_IMSC) == 0
    assert rawmem.load_u32(BASE + uart_mmio.PL011_CR) == (1 << 9) | (1 << 8) | 1


def test_pl011_put_char_writes_the_data_register_with_cr_before_lf(regs):
    uart = pl011(regs)
    for c in 'ok\n':
        uart.put_char(c)
    assert regs.written_to(uart_mmio.PL011_DR) == [ord('o'), ord('k'), 13, 10]
    assert all(size == 4 for off, size, value in regs.stores)


def test_pl011_waits_while_the_transmit_fifo_is_full(regs):
    uart = pl011(regs)
    regs.busy, regs.ready, regs.busy_reads = uart_mmio.PL011_FR_TXFF, 0, 3
    uart.put_char('x')
    assert regs.written_to(uart_mmio.PL011_DR) == [ord('x')]
    assert regs.status_reads == 4


def test_pl011_drops_the_byte_when_the_fifo_stays_full(regs, monkeypatch):
    monkeypatch.setattr(uart_mmio, 'SPIN_LIMIT', 50)
    uart = pl011(regs)
    regs.busy, regs.busy_reads = uart_mmio.PL011_FR_TXFF, None
    uart.put_char('x')
    uart.put_char('y')
    assert regs.written_to(uart_mmio.PL011_DR) == []
    assert regs.status_reads == 2 * 51                 # bounded: SPIN_LIMIT + 1 polls a byte


# ------------------------------------------------------------ NS16550

@pytest.mark.parametrize('reg_shift', [0, 2])
def test_ns16550_init_clears_the_interrupt_enable_register(regs, reg_shift):
    rawmem.store_u8(BASE + (uart_mmio.NS_INT_ENABLE << reg_shift), 0x0F)
    uart = ns16550(regs, reg_shift)
    assert uart.init()
    assert regs.stores[-1] == (uart_mmio.NS_INT_ENABLE << reg_shift, 1, 0)
    assert rawmem.load_u8(BASE + (uart_mmio.NS_INT_ENABLE << reg_shift)) == 0


@pytest.mark.parametrize('reg_shift', [0, 2])
def test_ns16550_put_char_writes_the_holding_register_with_cr_before_lf(regs, reg_shift):
    uart = ns16550(regs, reg_shift)
    for c in 'a\nb':
        uart.put_char(c)
    assert regs.stores == [(0, 1, ord('a')), (0, 1, 13), (0, 1, 10), (0, 1, ord('b'))]
    assert regs.status_reads == 4                       # one poll a byte: THRE already set


def test_ns16550_waits_for_the_holding_register_to_empty(regs):
    uart = ns16550(regs, 2)
    regs.busy_reads = 5
    uart.put_char('z')
    assert regs.written_to(0) == [ord('z')]
    assert regs.status_reads == 6


def test_ns16550_drops_the_byte_when_thre_never_sets(regs, monkeypatch):
    monkeypatch.setattr(uart_mmio, 'SPIN_LIMIT', 40)
    uart = ns16550(regs, 0)
    regs.busy_reads = None
    uart.put_char('\n')
    assert regs.stores == []
    assert regs.status_reads == 2 * 41


def test_the_real_spin_limit_ends_a_stuck_wait(regs):
    uart = pl011(regs)
    regs.busy, regs.busy_reads = uart_mmio.PL011_FR_TXFF, None
    uart.put_byte(ord('x'))
    assert regs.status_reads == uart_mmio.SPIN_LIMIT + 1
    assert regs.stores == []


# ------------------------------------------------------------ no UART

@pytest.mark.parametrize('kind', [uart_mmio.KIND_NONE, 3, -1])
def test_an_unknown_kind_is_refused_and_its_output_dropped(regs, kind):
    uart = uart_mmio.MmioUart()
    assert not uart.configure(kind, BASE, 0)
    assert not uart.init()
    uart.put_char('x')
    assert regs.stores == [] and regs.status_reads == 0


def test_reconfiguring_with_an_unknown_kind_stops_the_output(regs):
    uart = pl011(regs)
    uart.put_char('a')
    assert not uart.configure(99, BASE, 0)
    uart.put_char('b')
    assert regs.written_to(uart_mmio.PL011_DR) == [ord('a')]


def test_the_log_sink_of_the_port_starts_unconfigured(regs):
    fresh = uart_mmio.MmioUart()
    fresh.put_char('x')
    assert not fresh.init()
    assert regs.stores == []
