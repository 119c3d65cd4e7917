"""The framebuffer console at boot.

    init_display(boot_info) -> 0, or the console's error code (logged)
        configures elyz.console.console.CONSOLE for the bootloader's mode,
        gives it a shadow buffer from the kernel heap (scrolling then reads
        RAM, not video memory), replays the log so far (the banner first)
        and attaches it to the log, and installs the panic screen.
"""

from elyz.console.console import CONSOLE, PANIC_SCREEN
from elyz.console.framebuffer import E_NO_FRAMEBUFFER
from elyz.kernel import panic
from elyz.lib import log
from elyz.mm import heap




def init_display(boot_info):
    """Brings up the console; returns 0 or an error code (never fatal)."""
    status = CONSOLE.configure_from_bootinfo(boot_info)
    if status != 0:
        if status != E_NO_FRAMEBUFFER:
            log.begin(log.WARN)
            log.put('console: framebuffer mode not usable (code ')
            log.put_int(status)
            log.put('), serial only')
            log.end()
        return status
    size = CONSOLE.back_buffer_bytes()
    shadow = heap.heap_malloc(size)
    if shadow != 0:
        if CONSOLE.attach_back_buffer(shadow, size) != 0:
            heap.heap_free(shadow)
            shadow = 0
    panic.set_panic_screen(PANIC_SCREEN)
    log.replay(CONSOLE)
    log.attach(CONSOLE)
    log.begin(log.INFO)
    log.put('console: ')
    log.put_int(CONSOLE.cols)
    log.put('x')
    log.put_int(CONSOLE.rows)
    log.put(' characters')
    if shadow != 0:
        log.put(', shadow buffer of ')
        log.put_int(size // 1024)
        log.put(' KiB')
    log.end()
    return 0
