"""Where the linker put the kernel image (arch/<karch>/linker.ld symbols).

    kernel_start() kernel_end()          virtual bounds of the whole image
    text_start() text_end()              code            (map R-X)
    rodata_start() rodata_end()          read-only data  (map R--)
    data_start() data_end()              data and bss    (map RW-, NX)
    boot_start()                         = kernel_start(): the 32-bit boot
                                         code and early tables, up to text_start()
    stacks_start()                       the kernel stacks (arch/<karch>/stacks.S),
                                         the last part of the data section, up to
                                         data_end(): each stack lies above a guard
                                         page that must stay unmapped
    stack_count()                        how many kernel stacks there are
    stack_bottom(i) stack_top(i)         stack i is [bottom, top), i < stack_count()
    STACK_NAMES[i]                       what stack i is for (the order of stacks.S)
    STACK_GUARD_SIZE                     bytes of the guard page below each stack

All are page aligned.  Untranslated, they come from `emulate(layout)`
(default: a 2 MiB image at 0xffffffff80100000).
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel.rawmem import to_word

_SYMBOLS = ['kernel_start', 'kernel_end', 'text_start', 'text_end', 'rodata_start',
            'rodata_end', 'data_start', 'data_end', 'kernel_stacks_start']

# The order of elyz_kernel_stack_table in arch/x86_64/stacks.S.
STACK_NAMES = ['boot', 'double fault (IST1)', 'NMI (IST2)', 'machine check (IST3)']
STACK_GUARD_SIZE = 4096         # arch/x86_64/boot.h ELYZ_STACK_GUARD_SIZE
BOOT_STACK_SIZE = 64 * 1024     # ELYZ_BOOT_STACK_SIZE
IST_STACK_SIZE = 32 * 1024      # ELYZ_IST_STACK_SIZE

_IMAGE_ECI = ExternalCompilationInfo(post_include_bits=[
    '\n'.join(['extern char elyz_%s[];' % s for s in _SYMBOLS] +
              ['static inline long elyz_image_%s(void) { return (long)elyz_%s; }' % (s, s)
               for s in _SYMBOLS] +
              ['extern const long elyz_kernel_stack_table[];',
               'extern const long elyz_kernel_stack_count;',
               'static inline long elyz_image_stack_count(void) '
               '{ return elyz_kernel_stack_count; }',
               'static inline long elyz_image_stack_bottom(long i) '
               '{ return elyz_kernel_stack_table[2 * i]; }',
               'static inline long elyz_image_stack_top(long i) '
               '{ return elyz_kernel_stack_table[2 * i + 1]; }'])])


class EmulatedImage(object):
    def __init__(self, base=0xffffffff80100000, text=0x2000, text_size=0x100000,
                 rodata_size=0x40000, data_size=0xbe000):
        self.kernel_start = to_word(base)
        self.text_start = to_word(base + text)
        self.text_end = to_word(base + text + text_size)
        self.rodata_start = self.text_end
        self.rodata_end = to_word(base + text + text_size + rodata_size)
        self.data_start = self.rodata_end
        self.data_end = to_word(base + text + text_size + rodata_size + data_size)
        self.kernel_end = self.data_end
        # The stacks as stacks.S lays them out, at the end of the data section.
        sizes = [BOOT_STACK_SIZE] + [IST_STACK_SIZE] * (len(STACK_NAMES) - 1)
        self.kernel_stacks_start = self.data_end - sum(sizes) - STACK_GUARD_SIZE * len(sizes)
        self.stacks = []                # (bottom, top)
        bottom = self.kernel_stacks_start
        for size in sizes:
            bottom += STACK_GUARD_SIZE
            self.stacks.append((bottom, bottom + size))
            bottom += size


_emulated = [EmulatedImage()]


def emulate(layout=None):
    """Untranslated only: installs layout (an EmulatedImage); returns it."""
    if layout is None:
        layout = EmulatedImage()
    _emulated[0] = layout
    return layout


def _make(symbol):
    ext = rffi.llexternal('elyz_image_' + symbol, [], lltype.Signed,
                          compilation_info=_IMAGE_ECI, _nowrapper=True, sandboxsafe=True,
                          releasegil=False, _callable=lambda: getattr(_emulated[0], symbol))

    def getter():
        return ext()
    getter.__name__ = symbol
    return getter


kernel_start = _make('kernel_start')
kernel_end = _make('kernel_end')
text_start = _make('text_start')
text_end = _make('text_end')
rodata_start = _make('rodata_start')
rodata_end = _make('rodata_end')
data_start = _make('data_start')
data_end = _make('data_end')
stacks_start = _make('kernel_stacks_start')
boot_start = kernel_start

_stack_count = rffi.llexternal('elyz_image_stack_count', [], lltype.Signed,
                               compilation_info=_IMAGE_ECI, _nowrapper=True, sandboxsafe=True,
                               releasegil=False, _callable=lambda: len(_emulated[0].stacks))
_stack_bottom = rffi.llexternal('elyz_image_stack_bottom', [lltype.Signed], lltype.Signed,
                                compilation_info=_IMAGE_ECI, _nowrapper=True,
                                sandboxsafe=True, releasegil=False,
                                _callable=lambda i: _emulated[0].stacks[i][0])
_stack_top = rffi.llexternal('elyz_image_stack_top', [lltype.Signed], lltype.Signed,
                             compilation_info=_IMAGE_ECI, _nowrapper=True, sandboxsafe=True,
                             releasegil=False, _callable=lambda i: _emulated[0].stacks[i][1])


def stack_count():
    """Returns the number of kernel stacks (len(STACK_NAMES))."""
    return _stack_count()


def stack_bottom(i):
    """Returns the lowest address of kernel stack i (its guard page ends there)."""
    return _stack_bottom(i)


def stack_top(i):
    """Returns the address just above kernel stack i (its initial stack pointer)."""
    return _stack_top(i)


def stack_guard_hit(addr):
    """Returns the index of the kernel stack whose guard page holds addr,
    or -1 when addr is in no guard page."""
    i = 0
    count = stack_count()
    while i < count:
        bottom = stack_bottom(i)
        if bottom - STACK_GUARD_SIZE <= addr < bottom:
            return i
        i += 1
    return -1
