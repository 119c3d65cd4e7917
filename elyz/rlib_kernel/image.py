"""Where the linker put the kernel image (arch/<karch>/linker.ld symbols).

    kernel_start() kernel_end()          virtual bounds of the whole image
    text_start() text_end()              code            (map R-X)
    rodata_start() rodata_end()          read-only data  (map R--)
    data_start() data_end()              data and bss    (map RW-, NX)
    boot_start()                         = kernel_start(): the 32-bit boot
                                         code and early tables, up to text_start()

All are page aligned.  Untranslated, they come from `emulate(layout)`
(default: a 2 MiB image at 0xffffffff80100000).
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel.rawmem import to_word

_SYMBOLS = ['kernel_start', 'kernel_end', 'text_start', 'text_end', 'rodata_start',
            'rodata_end', 'data_start', 'data_end']

_IMAGE_ECI = ExternalCompilationInfo(post_include_bits=[
    '\n'.join(['extern char elyz_%s[];' % s for s in _SYMBOLS] +
              ['static inline long elyz_image_%s(void) { return (long)elyz_%s; }' % (s, s)
               for s in _SYMBOLS])])


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
boot_start = kernel_start
