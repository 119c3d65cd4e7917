"""tools/screenshot.py's image helpers: cropping to the written part of the
screen and the PNG writer (zlib and struct only), checked by decoding."""

import struct
import zlib

from tools import screenshot


def decode_png(data):
    """Returns (width, height, rgb) of an 8-bit RGB PNG with filter 0 rows,
    checking the signature and every chunk's CRC."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos = 8
    chunks = []
    while pos < len(data):
        length, = struct.unpack('>I', data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks.append((kind, body))
        pos += 12 + length
    assert [kind for kind, _ in chunks] == [b'IHDR', b'IDAT', b'IEND']
    width, height, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', chunks[0][1])
    assert (depth, colour, interlace) == (8, 2, 0)
    raw = bytearray(zlib.decompress(chunks[1][1]))
    stride = width * 3 + 1
    assert len(raw) == height * stride
    assert all(raw[y * stride] == 0 for y in range(height))
    rgb = b''.join(bytes(raw[y * stride + 1:(y + 1) * stride]) for y in range(height))
    return width, height, rgb


def image(width, height, dots):
    """A black width x height RGB image with the pixels of dots {(x, y): rgb}."""
    rgb = bytearray(width * height * 3)
    for (x, y), colour in dots.items():
        rgb[(y * width + x) * 3:(y * width + x) * 3 + 3] = bytearray(colour)
    return bytes(rgb)


def test_png_round_trip():
    rgb = image(5, 3, {(0, 0): (255, 0, 0), (4, 2): (0, 255, 255), (2, 1): (1, 2, 3)})
    assert decode_png(screenshot.png_bytes(5, 3, rgb)) == (5, 3, rgb)


def test_used_box_finds_every_non_black_pixel():
    rgb = image(20, 10, {(3, 2): (85, 255, 255), (11, 6): (170, 170, 170)})
    assert screenshot.used_box(20, 10, rgb) == (3, 2, 12, 7)
    assert screenshot.used_box(20, 10, image(20, 10, {})) is None


def test_crop_keeps_a_black_border_even_past_the_screen_edge():
    rgb = image(20, 10, {(0, 0): (255, 255, 85), (5, 3): (255, 85, 85)})
    box = screenshot.used_box(20, 10, rgb)
    assert box == (0, 0, 6, 4)
    width, height, out = screenshot.crop(20, 10, rgb, box, border=2)
    assert (width, height) == (10, 8)
    assert out == image(10, 8, {(2, 2): (255, 255, 85), (7, 5): (255, 85, 85)})
