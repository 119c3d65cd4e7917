"""Test helpers: a framebuffer in simulated memory, read back pixel by pixel.

    make_memory()                        a fresh SimulatedMemory, installed
    FB_ADDRESS, SHADOW_ADDRESS           higher-half (negative) addresses
    add_frame(memory, address, pitch, height, sentinel)
                                         a region filled with the sentinel byte
    MODES[bpp]                           (red_size, red_shift, green_size, ...) layouts
    read_pixel(memory, address, pitch, bpp, x, y)
    glyph_pixel_is_set(code, col, row)   from elyz.console.font_data
"""

from elyz.console import font_data
from elyz.rlib_kernel import rawmem

FB_ADDRESS = rawmem.to_word(0xFFFF800040000000)
SHADOW_ADDRESS = rawmem.to_word(0xFFFF800050000000)
SENTINEL = 0xEE

MODES = {
    32: (8, 16, 8, 8, 8, 0),
    24: (8, 16, 8, 8, 8, 0),
    16: (5, 11, 6, 5, 5, 0),
}


def make_memory():
    return rawmem.simulate()


def add_frame(memory, address, pitch, height, sentinel=SENTINEL):
    memory.add_region(address, pitch * height)
    memory.write(address, bytearray([sentinel]) * (pitch * height))
    return address


def read_pixel(memory, address, pitch, bpp, x, y):
    nbytes = bpp // 8
    return memory.load(address + y * pitch + x * nbytes, nbytes)


def glyph_pixel_is_set(code, col, row):
    byte = ord(font_data.GLYPHS[code * font_data.GLYPH_BYTES
                                + row * font_data.BYTES_PER_ROW + col // 8])
    return bool(byte & (0x80 >> (col % 8)))


def padding_byte(y):
    """The byte mark_padding leaves in the padding of pixel row y (one per row,
    so a copy that moved padding between rows shows)."""
    return (0x40 + 7 * y) & 0xFF


def mark_padding(memory, address, pitch, row_bytes, height):
    for y in range(height):
        memory.write(address + y * pitch + row_bytes,
                     bytearray([padding_byte(y)]) * (pitch - row_bytes))


def padding_is_marked(memory, address, pitch, row_bytes, height):
    for y in range(height):
        got = memory.read(address + y * pitch + row_bytes, pitch - row_bytes)
        if got != bytearray([padding_byte(y)]) * (pitch - row_bytes):
            return False
    return True
