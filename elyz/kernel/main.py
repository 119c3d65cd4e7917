"""kmain: from boot information to a running kernel.

Order: serial log -> boot info (any protocol) -> banner -> trap tables
(exceptions now dump registers and panic) -> memory and framebuffer
summary -> PMM, kernel page tables, heap (memory.py) -> framebuffer console
(display.py) -> APIC timer and interrupts on -> self-tests (when the
command line says elyz.selftest) -> idle.

Kernel command line words:
    elyz.selftest    run the built-in self-tests, print the summary
    elyz.bench       run the micro-benchmarks (tools/bench.py, under -icount)
    elyz.panic       panic once the rest is done (shows the panic path)
    elyz.crash=...   a deliberate failure for the boot tests (crash.py)
    elyz.init=a,b    start init from the boot archive, which starts a and b
                     (init.py); with elyz.exit, leave QEMU once init exited
    elyz.exit        leave QEMU (isa-debug-exit) when done or on panic
"""

from elyz.boot import bootinfo
from elyz.boot.bootinfo import boot_info
from elyz.drivers.serial import COM1
from elyz.kernel import bench, boot, crash, display, finish, memory, panic, qemu, selftest
from elyz.lib import log
from elyz.kernel import init, sched, syscall, traps
# They register the self-tests.
from elyz.kernel import core_selftests, trap_selftests, protection_selftests
from elyz.kernel import user_selftests
from elyz.kernel import object_selftests
from elyz.rlib_kernel import cpu

ARCH_NAME = 'x86_64'


def print_banner(info):
    """Prints the first kernel line (boot.print_banner)."""
    boot.print_banner(info, ARCH_NAME)


def kmain(protocol, info_address, hhdm_offset):
    """Runs the kernel; returns only in tests (untranslated halts raise)."""
    bench.note_kmain()
    COM1.init()
    log.attach(COM1)
    status = boot.read_boot_info(protocol, info_address, hhdm_offset, boot_info)
    qemu.request_exit(boot_info.cmdline_has('elyz.exit'))
    print_banner(boot_info)
    bench.note_banner()
    if status != 0:
        log.begin(log.ERROR)
        log.put('boot information unreadable: ')
        log.put(boot.error_name(status))
        log.end()
        panic.panic('no usable boot information')
    traps.install_trap_tables()
    boot.log_summary(boot_info)
    if memory.init_memory(boot_info) < 0:
        panic.panic('memory bring-up failed')
    if sched.init() < 0 or syscall.init() < 0:
        panic.panic('no memory for the scheduler')
    display.init_display(boot_info)
    traps.init_interrupts()
    failed = 0
    if boot_info.cmdline_has('elyz.selftest'):
        failed = selftest.run_all()
    if boot_info.cmdline_has('elyz.bench'):
        bench.run_all()
    crash.run_requested(boot_info)
    before = init.before_user.take()
    first = init.start_init(boot_info)
    if first >= 0 and qemu.exit_requested():
        code = sched.wait_idle_until_exited(first)
        log.begin(log.INFO)
        log.put('init exited with ')
        log.put_int(code)
        log.end()
        leak_free = init.report_leaks(before)
        if code != 0 or not leak_free:
            failed += 1
    finish.finish(boot_info, failed)
    idle()


def idle():
    """The idle loop: sti;hlt once traps.interrupts_ready() says interrupts
    are set up; before that, a halted CPU with interrupts off is the only
    safe idle state.  Never returns."""
    while traps.interrupts_ready():
        sched.idle_wait()
    cpu.halt_forever()
