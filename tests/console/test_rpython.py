"""The console modules are valid freestanding RPython, and put_char, set_style
and the log path that calls them allocate nothing."""

from elyz.boot.bootinfo import boot_info
from elyz.console import console as console_mod
from elyz.console.console import Console, ConsolePanicScreen, CONSOLE, PANIC_SCREEN
from elyz.console.framebuffer import Framebuffer
from elyz.kernel import panic
from elyz.lib import log
from tests.support import rpycheck

_FB = Framebuffer()
_SHADOW = Framebuffer()
_CON = Console()
_SCREEN = ConsolePanicScreen(_CON)


def configure_and_write(n):
    status = _CON.configure(n, 640, 480, 2560 + (n & 64), 32, 8, 16, 8, 8, 8, 0)
    if status != 0:
        return status
    for i in range(n & 0xFF):
        _CON.put_char(chr(i & 0xFF))
    _CON.set_colors(n & 15, (n >> 4) & 15)
    _CON.write('hello\tworld\b\r\n')
    _CON.scroll_up()
    _CON.clear()
    return _CON.cursor_x + _CON.cursor_y


def shadow_and_panic(n):
    status = _CON.configure(n, 800, 600, 3200, 24, 8, 16, 8, 8, 8, 0)
    if status == 0:
        status = _CON.attach_back_buffer(n + 0x100000, _CON.back_buffer_bytes())
    _CON.put_char('x')
    _CON.put_char('\n')
    _CON.detach_back_buffer()
    _SCREEN.paint_panic('something broke')
    return status


def kmain_like(n):
    status = CONSOLE.configure_from_bootinfo(boot_info)
    if status == 0:
        log.attach(CONSOLE)
        panic.set_panic_screen(PANIC_SCREEN)
    log.info('console up')
    log.put_int(n)
    return status


def log_to_console(n):
    log.warn('before the console')
    status = _CON.configure(n, 640, 480, 2560, 32, 8, 16, 8, 8, 8, 0)
    log.replay(_CON)
    log.attach(_CON)
    log.begin(log.INFO, log.PROCESS)
    log.put('[pid ')
    log.put_int(n)
    log.put('] hello')
    log.end()
    log.line(n & 3, 'any level')
    _CON.set_style(n & 7, n >> 3)
    log.detach(_CON)
    return status


def framebuffer_ops(n):
    status = _FB.configure(n, 320, 200, 640 + (n & 8), 16, 5, 11, 6, 5, 5, 0)
    pixel = _FB.pack_color(n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF)
    _FB.put_pixel(n & 511, (n >> 9) & 255, pixel)
    _FB.fill_rect(n & 31, 3, 40, 50, pixel)
    _FB.copy_rows(0, n & 15, 100)
    _SHADOW.configure_like(_FB, n + 0x200000)
    _FB.copy_rect_from(_SHADOW, 1, 2, 3, 4)
    return status + _FB.pixel_at(1, 1) + _FB.size_bytes()


ENTRY_POINTS = [(configure_and_write, [int]), (shadow_and_panic, [int]),
                (kmain_like, [int]), (log_to_console, [int]), (framebuffer_ops, [int])]


def test_console_modules_are_valid_rpython():
    rpycheck.rtype(ENTRY_POINTS)


def test_put_char_and_everything_it_calls_allocate_nothing():
    # after the backend optimizations the kernel build also runs (they
    # remove the iterator objects of `for i in range(n)` loops)
    roots = [Console.put_char.im_func, Console.set_style.im_func, log._emit, log.replay,
             log.attach]
    t = rpycheck.rtype_allocation_free(ENTRY_POINTS, roots=roots)
    assert rpycheck.reaches(t, Console.put_char.im_func, console_mod._draw_glyph)
