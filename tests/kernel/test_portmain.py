"""kmain of the ports (elyz/kernel/portmain.py), untranslated: the serial
log on the UART the boot information names, the banner, and the stop when
the boot information is unreadable."""

import pytest

from elyz import version
from elyz.boot import bootinfo
from elyz.boot.bootinfo import BootInfo, boot_info
from elyz.drivers import uart_mmio
from elyz.kernel import panic, port_bench, porttraps, qemu, selftest
from elyz.lib import clock, log
from elyz.mm import address_space, kernel_space, paging, protection
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import aarch64, cpu, image, rawmem, riscv64
from tests.support import fdt
from tests.support.fdt import Node, cells, string, strings, u32
from tests.support.uart_registers import UartRegisters

# Importing portmain registers the port self-tests; untranslated tests run
# none of them, so the registry is left as it was.
_registered = list(selftest._tests)
from elyz.kernel import portmain                           # noqa: E402
selftest._tests[:] = _registered

HHDM = rawmem.to_word(0xffff800000000000)
PL011_PHYS = 0x09000000
NS16550_PHYS = 0x10000000


@pytest.fixture
def uart_at():
    """Returns a function that simulates UART registers at HHDM + phys."""
    log.reset_for_tests()
    panic.reset_for_tests()

    def simulate(phys):
        memory = UartRegisters(HHDM + phys, 0x1000)
        rawmem.simulate(memory)
        return memory
    yield simulate
    log.reset_for_tests()
    panic.reset_for_tests()
    porttraps.reset_for_tests()
    uart_mmio.UART.configure(uart_mmio.KIND_NONE, 0, 0)
    qemu.request_exit(False)
    qemu.set_device_window(0)
    boot_info.reset()
    cpu.emulate()
    rawmem.simulate()


def info_with_uart(kind, phys, reg_shift=0):
    info = BootInfo()
    info.protocol = bootinfo.PROTOCOL_DEVICETREE
    info.uart_kind = kind
    info.uart_base = phys
    info.uart_reg_shift = reg_shift
    return info


def test_attach_uart_sends_the_log_to_the_pl011_through_the_direct_map(uart_at):
    regs = uart_at(PL011_PHYS)
    assert portmain.attach_uart(info_with_uart(bootinfo.UART_PL011, PL011_PHYS), HHDM)
    assert uart_mmio.UART.kind == uart_mmio.KIND_PL011
    assert uart_mmio.UART.base == HHDM + PL011_PHYS
    log.info('hello')
    assert regs.text_at(uart_mmio.PL011_DR) == 'hello\r\n'
    assert rawmem.load_u32(HHDM + PL011_PHYS + uart_mmio.PL011_CR) & uart_mmio.PL011_CR_TXE


def test_attach_uart_uses_the_ns16550_register_stride(uart_at):
    regs = uart_at(NS16550_PHYS)
    regs.status = HHDM + NS16550_PHYS + (uart_mmio.NS_LINE_STATUS << 2)
    regs.busy_reads, regs.ready = 0, uart_mmio.NS_THR_EMPTY
    assert portmain.attach_uart(info_with_uart(bootinfo.UART_NS16550, NS16550_PHYS, 2), HHDM)
    assert uart_mmio.UART.reg_shift == 2
    log.info('ok')
    assert regs.text_at(uart_mmio.NS_DATA) == 'ok\r\n'
    assert regs.written_to(uart_mmio.NS_INT_ENABLE << 2) == [0]


def test_without_a_uart_nothing_is_attached(uart_at):
    regs = uart_at(PL011_PHYS)
    assert not portmain.attach_uart(info_with_uart(bootinfo.UART_NONE, 0), HHDM)
    assert not portmain.attach_uart(info_with_uart(bootinfo.UART_PL011, 0), HHDM)
    log.info('hello')
    assert regs.stores == []


def test_a_uart_of_a_kind_no_driver_knows_is_not_attached(uart_at):
    regs = uart_at(PL011_PHYS)
    assert not portmain.attach_uart(info_with_uart(7, PL011_PHYS), HHDM)
    log.info('hello')
    assert regs.stores == []


@pytest.mark.parametrize('karch', ['riscv64', 'aarch64'])
def test_the_banner_names_the_arch_and_the_device_tree(uart_at, monkeypatch, karch):
    monkeypatch.setattr(portmain, 'KARCH', karch)
    portmain.print_banner(info_with_uart(bootinfo.UART_NONE, 0))
    assert log.captured == ['Elyz %s (%s, boot: devicetree)' % (version.VERSION, karch)]


def test_kmain_stops_when_the_boot_information_is_unreadable(uart_at, monkeypatch):
    uart_at(PL011_PHYS)
    monkeypatch.setattr(portmain, 'KARCH', 'riscv64')
    monkeypatch.setattr(portmain, 'machine', riscv64)
    monkeypatch.setattr(port_bench, 'machine', riscv64)
    with pytest.raises(cpu.Halted):
        portmain.kmain(bootinfo.PROTOCOL_NONE, 0, HHDM)
    assert log.captured == [
        'Elyz %s (riscv64, boot: none)' % version.VERSION,
        'error: boot information unreadable: unknown boot protocol',
        'PANIC: no usable boot information',
    ]
    assert not porttraps._state.tables_loaded          # it stopped before the traps


# ------------------------------------------------------ a whole boot

RAM = 64 << 20                      # at physical 0, where the x86_64 layout loads the image
DTB_PHYS = 0x3000000
GIC_DIST_PHYS = 0x08000000
GIC_CPU_PHYS = 0x08010000


def virt_tree(bootargs):
    """QEMU's aarch64 virt machine, shrunk: RAM, a PL011, a GICv2, bootargs."""
    return fdt.build(Node('', [('#address-cells', u32(2)), ('#size-cells', u32(2)),
                               ('compatible', string('linux,dummy-virt'))], [
        Node('memory@0', [('reg', cells(2, 0, RAM)), ('device_type', string('memory'))]),
        Node('pl011@9000000', [('compatible', strings('arm,pl011', 'arm,primecell')),
                               ('reg', cells(2, PL011_PHYS, 0x1000))]),
        Node('intc@8000000', [('compatible', strings('arm,cortex-a15-gic')),
                              ('reg', cells(2, GIC_DIST_PHYS, 0x10000, GIC_CPU_PHYS, 0x10000)),
                              ('interrupt-controller', b''), ('#interrupt-cells', u32(3))]),
        Node('chosen', [('bootargs', string(bootargs))]),
    ]))


@pytest.fixture
def aarch64_virt(uart_at, monkeypatch):
    """The simulated machine behind virt_tree, with the port modules pointed
    at aarch64 (untranslated tests run with KARCH=x86_64)."""
    regs = uart_at(PL011_PHYS)
    regs.add_region(HHDM, RAM)
    regs.add_region(HHDM + GIC_DIST_PHYS, aarch64.GIC_WINDOW)
    regs.add_region(HHDM + GIC_CPU_PHYS, aarch64.GIC_WINDOW)
    for module in (portmain, porttraps, kernel_space, qemu, port_bench, protection,
                   address_space):
        monkeypatch.setattr(module, 'machine', aarch64)
    for module in (portmain, kernel_space, qemu, protection, address_space):
        monkeypatch.setattr(module, 'KARCH', 'aarch64')
    monkeypatch.setattr(aarch64, '_irq', aarch64._Interrupts())
    emulated = aarch64.emulate()
    image.emulate()
    for reset in (kernel_space.reset_for_tests, address_space.reset_for_tests, pmm.reset,
                  clock.reset_for_tests):
        reset()
    yield regs, emulated
    for reset in (kernel_space.reset_for_tests, address_space.reset_for_tests, pmm.reset,
                  clock.reset_for_tests):
        reset()
    paging.set_hhdm_offset(0)
    aarch64.emulate()
    image.emulate()


def boot(regs, bootargs):
    blob = virt_tree(bootargs).data
    regs.write(HHDM + DTB_PHYS, bytearray(blob))
    with pytest.raises(cpu.Halted):                      # idle: halts untranslated
        portmain.kmain(bootinfo.PROTOCOL_DEVICETREE, DTB_PHYS, HHDM)


def test_kmain_boots_from_a_device_tree_to_idle_and_leaves_qemu(aarch64_virt):
    regs, emulated = aarch64_virt
    boot(regs, 'elyz.exit')
    assert log.captured[0] == 'Elyz %s (aarch64, boot: devicetree)' % version.VERSION
    assert 'uart: pl011 at 0x9000000' in log.captured
    assert 'interrupts: aarch64 timer at 100 Hz (counter 62500000 Hz)' in log.captured
    assert not [line for line in log.captured if line.startswith(('error', 'warning', 'PANIC'))]
    assert regs.text_at(uart_mmio.PL011_DR).startswith(
        'Elyz %s (aarch64, boot: devicetree)\r\n' % version.VERSION)
    root = kernel_space.kernel_pml4()
    assert root > 0 and emulated.root == root            # the kernel's tables are active
    assert paging.get_flags(root, HHDM + PL011_PHYS) & paging.PAGE_UNCACHED
    assert paging.get_flags(root, HHDM + GIC_CPU_PHYS) & paging.PAGE_UNCACHED
    assert rawmem.load_u32(HHDM + GIC_DIST_PHYS + aarch64.GICD_ISENABLER0) == 1 << 27
    assert cpu.emulated().interrupts_enabled
    assert emulated.exit_code == qemu.EXIT_SUCCESS


def test_kmain_without_elyz_exit_stays_in_qemu(aarch64_virt):
    regs, emulated = aarch64_virt
    boot(regs, '')
    assert emulated.exit_code == -1
    assert panic._state.last_message is None


def test_elyz_panic_on_the_command_line_panics_and_exits_with_the_panic_code(aarch64_virt):
    regs, emulated = aarch64_virt
    boot(regs, 'elyz.panic elyz.exit')
    assert panic._state.last_message == 'requested on the command line (elyz.panic)'
    assert emulated.exit_code == qemu.EXIT_PANIC
