import pytest

from elyz.boot.bootinfo import BootInfo
from elyz.console import framebuffer
from elyz.console.framebuffer import (Framebuffer, E_OK, E_NO_FRAMEBUFFER,
                                      E_UNSUPPORTED_MODE, E_BAD_GEOMETRY, frame_bytes)
from tests.console.fbtools import (FB_ADDRESS, SENTINEL, MODES, make_memory, add_frame,
                                   read_pixel, mark_padding, padding_is_marked)

WIDTH = 12
HEIGHT = 10


def make_fb(bpp, pitch=None, layout=None):
    memory = make_memory()
    if pitch is None:
        pitch = WIDTH * bpp // 8
    add_frame(memory, FB_ADDRESS, pitch, HEIGHT)
    fb = Framebuffer()
    status = fb.configure(FB_ADDRESS, WIDTH, HEIGHT, pitch, bpp, *(layout or MODES[bpp]))
    assert status == E_OK
    return memory, fb


def test_supported_modes_configure():
    for bpp in (32, 24, 16):
        memory, fb = make_fb(bpp)
        assert fb.ready and fb.bytes_per_pixel == bpp // 8
        assert fb.row_bytes == WIDTH * bpp // 8


@pytest.mark.parametrize('bpp', [0, 1, 4, 8, 15, 18, 30, 48, 64, -32])
def test_unsupported_bpp_is_refused(bpp):
    fb = Framebuffer()
    status = fb.configure(FB_ADDRESS, WIDTH, HEIGHT, WIDTH * 8, bpp, 5, 11, 6, 5, 5, 0)
    assert status == E_UNSUPPORTED_MODE
    assert not fb.ready


def test_channel_outside_the_pixel_is_refused():
    fb = Framebuffer()
    assert fb.configure(FB_ADDRESS, WIDTH, HEIGHT, WIDTH * 2, 16,
                        8, 16, 8, 8, 8, 0) == E_UNSUPPORTED_MODE
    assert fb.configure(FB_ADDRESS, WIDTH, HEIGHT, WIDTH * 4, 32,
                        10, 20, 10, 10, 10, 0) == E_UNSUPPORTED_MODE


def test_bad_geometry_and_missing_address():
    fb = Framebuffer()
    assert fb.configure(FB_ADDRESS, WIDTH, HEIGHT, WIDTH * 4 - 1, 32,
                        *MODES[32]) == E_BAD_GEOMETRY
    assert fb.configure(FB_ADDRESS, 0, HEIGHT, WIDTH * 4, 32, *MODES[32]) == E_BAD_GEOMETRY
    assert fb.configure(FB_ADDRESS, WIDTH, -1, WIDTH * 4, 32, *MODES[32]) == E_BAD_GEOMETRY
    assert fb.configure(0, WIDTH, HEIGHT, WIDTH * 4, 32, *MODES[32]) == E_NO_FRAMEBUFFER
    assert not fb.ready


def test_drawing_on_an_unconfigured_framebuffer_touches_nothing():
    make_memory()                  # no region at all: any access would fault
    fb = Framebuffer()
    fb.put_pixel(0, 0, 1)
    fb.fill_rect(0, 0, 5, 5, 1)
    fb.copy_rows(0, 1, 3)
    assert fb.pixel_at(0, 0) == -1


def test_configure_from_bootinfo():
    info = BootInfo()
    fb = Framebuffer()
    assert fb.configure_from_bootinfo(info) == E_NO_FRAMEBUFFER
    info.fb_present = True
    info.fb_address = FB_ADDRESS
    info.fb_width, info.fb_height, info.fb_pitch, info.fb_bpp = 640, 480, 2560, 32
    info.fb_red_size, info.fb_red_shift = 8, 16
    info.fb_green_size, info.fb_green_shift = 8, 8
    info.fb_blue_size, info.fb_blue_shift = 8, 0
    assert fb.configure_from_bootinfo(info) == E_OK
    assert (fb.address, fb.width, fb.height, fb.pitch) == (FB_ADDRESS, 640, 480, 2560)
    info.fb_bpp = 8
    assert fb.configure_from_bootinfo(info) == E_UNSUPPORTED_MODE


def test_missing_channel_layout_gets_the_default_one():
    fb = Framebuffer()
    assert fb.configure(FB_ADDRESS, WIDTH, HEIGHT, WIDTH * 2, 16, 0, 0, 0, 0, 0, 0) == E_OK
    assert fb.pack_color(0xFF, 0, 0) == 0xF800


def test_pack_color_32bpp_xrgb_and_xbgr():
    memory, fb = make_fb(32)
    assert fb.pack_color(0x12, 0x34, 0x56) == 0x123456
    memory, fb = make_fb(32, layout=(8, 0, 8, 8, 8, 16))
    assert fb.pack_color(0x12, 0x34, 0x56) == 0x563412


def test_pack_color_16bpp_565():
    memory, fb = make_fb(16)
    assert fb.pack_color(0xFF, 0, 0) == 0xF800
    assert fb.pack_color(0, 0xFF, 0) == 0x07E0
    assert fb.pack_color(0, 0, 0xFF) == 0x001F
    assert fb.pack_color(0xFF, 0xFF, 0xFF) == 0xFFFF
    # 5/6/5 keep the top bits of each channel
    assert fb.pack_color(0x84, 0x86, 0x0C) == (0x10 << 11) | (0x21 << 5) | 0x01


def test_pack_color_16bpp_555():
    memory, fb = make_fb(16, layout=(5, 10, 5, 5, 5, 0))
    assert fb.pack_color(0xFF, 0xFF, 0xFF) == 0x7FFF


def test_pack_color_24bpp():
    memory, fb = make_fb(24)
    assert fb.pack_color(0xAB, 0xCD, 0xEF) == 0xABCDEF


def test_put_pixel_16bpp_writes_two_little_endian_bytes():
    memory, fb = make_fb(16)
    fb.put_pixel(3, 2, fb.pack_color(0xFF, 0, 0))
    offset = 2 * fb.pitch + 3 * 2
    assert memory.read(FB_ADDRESS + offset - 1, 4) == bytearray([SENTINEL, 0x00, 0xF8, SENTINEL])


def test_put_pixel_24bpp_writes_blue_green_red_and_nothing_else():
    memory, fb = make_fb(24)
    fb.put_pixel(5, 1, fb.pack_color(0x11, 0x22, 0x33))
    offset = fb.pitch + 5 * 3
    assert memory.read(FB_ADDRESS + offset - 1, 5) == bytearray(
        [SENTINEL, 0x33, 0x22, 0x11, SENTINEL])
    assert fb.pixel_at(5, 1) == 0x112233


def test_put_pixel_off_screen_is_ignored():
    memory, fb = make_fb(32)
    before = memory.read(FB_ADDRESS, fb.pitch * HEIGHT)
    for x, y in [(-1, 0), (0, -1), (WIDTH, 0), (0, HEIGHT)]:
        fb.put_pixel(x, y, 0x123456)
        assert fb.pixel_at(x, y) == -1
    assert memory.read(FB_ADDRESS, fb.pitch * HEIGHT) == before


@pytest.mark.parametrize('bpp', [32, 24, 16])
@pytest.mark.parametrize('pixel_rgb', [(0, 0, 0), (0xFF, 0xFF, 0xFF), (0xAA, 0x55, 0x00)])
def test_fill_rect_is_clipped_and_spares_the_padding(bpp, pixel_rgb):
    pitch = WIDTH * bpp // 8 + 7
    memory, fb = make_fb(bpp, pitch=pitch)
    pixel = fb.pack_color(*pixel_rgb)
    fb.fill_rect(-2, 7, WIDTH + 10, 100, pixel)      # rows 7..9, all columns
    fb.fill_rect(2, 1, 3, 2, pixel)                 # a small inner rectangle
    for y in range(HEIGHT):
        for x in range(WIDTH):
            inside = y >= 7 or (2 <= x < 5 and 1 <= y < 3)
            value = read_pixel(memory, FB_ADDRESS, pitch, bpp, x, y)
            if inside:
                assert value == pixel, (x, y)
            else:
                assert value == int('EE' * (bpp // 8), 16), (x, y)
        padding = memory.read(FB_ADDRESS + y * pitch + fb.row_bytes, pitch - fb.row_bytes)
        assert padding == bytearray([SENTINEL]) * (pitch - fb.row_bytes)


def paint_row_numbers(fb):
    for y in range(HEIGHT):
        fb.fill_rect(0, y, WIDTH, 1, 0x010000 * (y + 1) + 0x000102)


@pytest.mark.parametrize('extra', [0, 12])
def test_copy_rows_up_and_down_respects_the_pitch(extra):
    pitch = WIDTH * 4 + extra
    memory, fb = make_fb(32, pitch=pitch)
    paint_row_numbers(fb)
    mark_padding(memory, FB_ADDRESS, pitch, fb.row_bytes, HEIGHT)
    fb.copy_rows(0, 3, 5)                           # rows 3..7 -> 0..4 (overlapping)
    expect = [4, 5, 6, 7, 8, 6, 7, 8, 9, 10]
    for y in range(HEIGHT):
        for x in range(WIDTH):
            assert fb.pixel_at(x, y) == 0x010000 * expect[y] + 0x000102, (x, y)
    fb.copy_rows(4, 2, 6)                           # rows 2..7 -> 4..9 (overlapping)
    expect = [4, 5, 6, 7, 6, 7, 8, 6, 7, 8]
    for y in range(HEIGHT):
        assert fb.pixel_at(WIDTH - 1, y) == 0x010000 * expect[y] + 0x000102, y
    assert padding_is_marked(memory, FB_ADDRESS, pitch, fb.row_bytes, HEIGHT)


def test_copy_rows_clips_to_the_screen():
    memory, fb = make_fb(32)
    paint_row_numbers(fb)
    fb.copy_rows(8, 0, 5)                           # only rows 0..1 fit at 8..9
    assert fb.pixel_at(0, 8) == 0x010102
    assert fb.pixel_at(0, 9) == 0x020102
    assert fb.pixel_at(0, 7) == 0x080102
    fb.copy_rows(0, -3, 5)                          # source rows -3..-1 dropped
    assert fb.pixel_at(0, 3) == 0x010102
    assert fb.pixel_at(0, 4) == 0x020102
    assert fb.pixel_at(0, 2) == 0x030102


def test_copy_rect_from_a_packed_shadow_into_a_padded_screen():
    memory, fb = make_fb(32, pitch=WIDTH * 4 + 8)
    shadow_address = FB_ADDRESS + 0x100000
    add_frame(memory, shadow_address, WIDTH * 4, HEIGHT, sentinel=0)
    shadow = Framebuffer()
    assert shadow.configure_like(fb, shadow_address) == E_OK
    assert shadow.pitch == WIDTH * 4
    shadow.fill_rect(1, 2, 3, 4, 0x00ABCDEF)
    fb.copy_rect_from(shadow, 1, 2, 3, 4)
    for y in range(HEIGHT):
        for x in range(WIDTH):
            inside = 1 <= x < 4 and 2 <= y < 6
            assert (fb.pixel_at(x, y) == 0xABCDEF) == inside
        assert memory.read(FB_ADDRESS + y * fb.pitch + fb.row_bytes, 8) == \
            bytearray([SENTINEL]) * 8


def test_frame_bytes():
    assert frame_bytes(640, 480, 32) == 640 * 480 * 4
    assert frame_bytes(640, 480, 24) == 640 * 480 * 3
    assert frame_bytes(0, 480, 32) == 0
    assert framebuffer.E_OK == 0
