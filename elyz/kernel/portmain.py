"""kmain of the aarch64, riscv64 and loongarch64 ports (x86_64's is
elyz/kernel/main.py): from the device tree to a running kernel.

Order: boot info from the device tree (elyz/boot/devicetree.py), or from
Limine (elyz/boot/limine.py, the devices from its device tree) -> the
serial log on the UART it names (elyz/drivers/uart_mmio.py) -> banner ->
trap vector -> memory summary -> PMM, kernel page tables, heap
(memory.py, the same code as x86_64) -> framebuffer console when the boot
gave one -> the timer tick and interrupts on -> self-tests
(elyz.selftest) -> idle.  User mode is not part of the ports yet.

Command line words: elyz.selftest, elyz.bench (elyz/kernel/port_bench.py),
elyz.panic, elyz.exit, as on x86_64.
"""

from elyz.boot.bootinfo import boot_info
from elyz.drivers import uart_mmio
from elyz.kernel import boot, core_selftests, display, memory, panic, porttraps
from elyz.kernel import object_selftests, port_bench, port_selftests, protection_selftests
from elyz.kernel import qemu, selftest
from elyz.kernel.finish import finish
from elyz.lib import log
from elyz.mm import kernel_space
from elyz.rlib_kernel import cpu
from elyz.rlib_kernel.karch import KARCH
from elyz.rlib_kernel.port import machine

PAGE_SIZE = 4096

port_selftests.register_all()


def print_banner(info):
    """Prints the first kernel line (boot.print_banner), naming KARCH."""
    boot.print_banner(info, KARCH)


def attach_uart(info, hhdm_offset):
    """Points the log at the UART the boot information names; returns
    True when there is one."""
    if info.uart_base == 0:
        return False
    if not uart_mmio.UART.configure(info.uart_kind, info.uart_base + hhdm_offset,
                                    info.uart_reg_shift):
        return False
    uart_mmio.UART.init()
    log.attach(uart_mmio.UART)
    return True


def kmain(protocol, info_address, hhdm_offset):
    """Runs the kernel; returns only in tests (untranslated halts raise)."""
    status = boot.read_boot_info(protocol, info_address, hhdm_offset, boot_info)
    # The direct map the boot information settled on (Limine: its HHDM, or
    # where the boot stub aliased it; the device tree: boot.S's).
    if boot_info.hhdm_offset != 0:
        hhdm_offset = boot_info.hhdm_offset
    attach_uart(boot_info, hhdm_offset)
    qemu.set_device_window(hhdm_offset)
    qemu.request_exit(boot_info.cmdline_has('elyz.exit'))
    print_banner(boot_info)
    port_bench.note_banner()
    if status != 0:
        log.begin(log.ERROR)
        log.put('boot information unreadable: ')
        log.put(boot.error_name(status))
        log.end()
        panic.panic('no usable boot information')
    porttraps.install_trap_tables()
    boot.log_summary(boot_info)
    # Devices used from the moment the kernel's own tables are active.
    kernel_space.add_device_window(boot_info.uart_base, PAGE_SIZE)
    kernel_space.add_device_window(machine.EXIT_DEVICE, machine.EXIT_DEVICE_SIZE)
    if memory.init_memory(boot_info) < 0:
        panic.panic('memory bring-up failed')
    display.init_display(boot_info)
    porttraps.init_interrupts(boot_info)
    failed = 0
    if boot_info.cmdline_has('elyz.selftest'):
        failed = selftest.run_all()
    if boot_info.cmdline_has('elyz.bench'):
        port_bench.run_all()
    finish(boot_info, failed)
    idle()


def idle():
    """Waits for interrupts forever once they are on; never returns."""
    while porttraps.interrupts_ready():
        cpu.wait_for_interrupt()
    cpu.halt_forever()
