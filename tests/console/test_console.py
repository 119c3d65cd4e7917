import pytest

from elyz.boot.bootinfo import BootInfo
from elyz.console import console as console_mod
from elyz.console import font_data
from elyz.console.console import (Console, ConsolePanicScreen, E_BAD_COLOR,
                                  E_BACK_BUFFER_TOO_SMALL, E_NOT_CONFIGURED,
                                  E_SCREEN_TOO_SMALL, FONT_HEIGHT, FONT_WIDTH, PALETTE_RGB,
                                  PANIC_BG, PANIC_FG, PANIC_TITLE, BLACK, LIGHT_GREY, WHITE,
                                  YELLOW, BLUE, RED, DARK_GREY, LIGHT_RED, LIGHT_CYAN,
                                  GREEN, DEBUG_FG, PROCESS_FG, WARN_FG, ERROR_FG)
from elyz.console.framebuffer import E_OK, E_UNSUPPORTED_MODE, E_NO_FRAMEBUFFER
from elyz.kernel import panic
from elyz.lib import log
from elyz.rlib_kernel import cpu, rawmem
from tests.console.fbtools import (FB_ADDRESS, SHADOW_ADDRESS, MODES, make_memory,
                                   add_frame, read_pixel, glyph_pixel_is_set, mark_padding,
                                   padding_is_marked)

COLS = 10
ROWS = 3
MARGIN = 4                                  # pixels right of and below the text
WIDTH = COLS * FONT_WIDTH + MARGIN
HEIGHT = ROWS * FONT_HEIGHT + MARGIN
PADDING = 12                                # bytes after each row (pitch > width * bpp/8)


class Screen(object):
    """A console on a simulated framebuffer, read back pixel by pixel."""

    def __init__(self, bpp=32, padding=PADDING, shadow=False, memory=None,
                 cols=COLS, rows=ROWS):
        self.memory = memory or make_memory()
        self.bpp = bpp
        self.cols = cols
        self.width = cols * FONT_WIDTH + MARGIN
        self.height = rows * FONT_HEIGHT + MARGIN
        self.pitch = self.width * bpp // 8 + padding
        self.padding = padding
        add_frame(self.memory, FB_ADDRESS, self.pitch, self.height)
        mark_padding(self.memory, FB_ADDRESS, self.pitch, self.width * bpp // 8, self.height)
        self.console = Console()
        status = self.console.configure(FB_ADDRESS, self.width, self.height, self.pitch, bpp,
                                        *MODES[bpp])
        assert status == E_OK
        if shadow:
            nbytes = self.console.back_buffer_bytes()
            add_frame(self.memory, SHADOW_ADDRESS, nbytes, 1)
            assert self.console.attach_back_buffer(SHADOW_ADDRESS, nbytes) == E_OK

    def pixel(self, x, y):
        return read_pixel(self.memory, FB_ADDRESS, self.pitch, self.bpp, x, y)

    def color(self, index):
        return self.console.palette[index]

    def cell_shows(self, col, row, code, fg, bg):
        """True when text cell (col, row) shows glyph code in fg on bg."""
        for gy in range(FONT_HEIGHT):
            for gx in range(FONT_WIDTH):
                want = fg if glyph_pixel_is_set(code, gx, gy) else bg
                if self.pixel(col * FONT_WIDTH + gx, row * FONT_HEIGHT + gy) != want:
                    return False
        return True

    def cell_text(self, row, fg=LIGHT_GREY, bg=BLACK):
        """The characters of text row row, read back by matching glyphs in
        the colours fg on bg, palette indexes ('?' for a cell that matches
        none)."""
        fg, bg = self.color(fg), self.color(bg)
        out = []
        for col in range(self.cols):
            for code in range(32, 127):
                if self.cell_shows(col, row, code, fg, bg):
                    out.append(chr(code))
                    break
            else:
                out.append('?')
        return ''.join(out)

    def padding_is_untouched(self):
        return padding_is_marked(self.memory, FB_ADDRESS, self.pitch,
                                 self.width * self.bpp // 8, self.height)

    def frame(self):
        return self.memory.read(FB_ADDRESS, self.pitch * self.height)


def cursor(con):
    return (con.cursor_x, con.cursor_y)


# ------------------------------------------------------------------ glyphs

def test_configure_clears_the_whole_screen_to_black():
    s = Screen()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            assert s.pixel(x, y) == 0
    assert (s.console.cols, s.console.rows) == (COLS, ROWS)
    assert s.padding_is_untouched()


def test_glyph_A_matches_the_font_in_the_default_colours():
    s = Screen()
    s.console.put_char('A')
    assert s.cell_shows(0, 0, ord('A'), s.color(LIGHT_GREY), s.color(BLACK))
    assert s.color(LIGHT_GREY) == 0xAAAAAA
    # the glyph has both colours: it really is the font, not a filled cell
    pixels = set(s.pixel(x, y) for x in range(FONT_WIDTH) for y in range(FONT_HEIGHT))
    assert pixels == set([0xAAAAAA, 0])


def test_glyph_is_drawn_at_the_cursor_cell_in_the_chosen_colours():
    s = Screen()
    s.console.write('xy\nz')
    assert cursor(s.console) == (1, 1)
    assert s.console.set_colors(YELLOW, BLUE) == E_OK
    s.console.put_char('A')
    assert s.cell_shows(1, 1, ord('A'), s.color(YELLOW), s.color(BLUE))
    assert s.cell_shows(0, 1, ord('z'), s.color(LIGHT_GREY), s.color(BLACK))
    assert s.cell_text(0) == 'xy        '


def test_latin1_characters_use_their_own_glyphs():
    s = Screen()
    s.console.put_char('\xe9')
    assert s.cell_shows(0, 0, 0xE9, s.color(LIGHT_GREY), s.color(BLACK))
    assert font_data.GLYPHS[0xE9 * 16:0xEA * 16] != font_data.GLYPHS[ord('e') * 16:
                                                                     ord('f') * 16]


@pytest.mark.parametrize('bpp', [24, 16])
def test_glyphs_in_24_and_16_bpp(bpp):
    s = Screen(bpp=bpp)
    s.console.set_colors(WHITE, BLUE)
    s.console.write('A')
    fg, bg = s.color(WHITE), s.color(BLUE)
    if bpp == 24:
        assert (fg, bg) == (0xFFFFFF, 0x0000AA)
    else:
        assert (fg, bg) == (0xFFFF, 0x0015)        # 0xAA >> 3 == 0x15
    assert s.cell_shows(0, 0, ord('A'), fg, bg)
    assert s.padding_is_untouched()


def test_set_colors_refuses_indexes_outside_the_palette():
    s = Screen()
    assert s.console.set_colors(16, 0) == E_BAD_COLOR
    assert s.console.set_colors(0, -1) == E_BAD_COLOR
    assert (s.console.fg, s.console.bg) == (LIGHT_GREY, BLACK)
    assert len(PALETTE_RGB) == 16


def test_padding_bytes_stay_untouched_by_text_scrolling_and_clearing():
    s = Screen(padding=PADDING)
    s.console.write('0123456789abcdefghij\tk\nl\bm\n\n\nscrolled')
    s.console.clear()
    s.console.write('again')
    assert s.padding_is_untouched()


# ------------------------------------------------------------------ cursor

def test_newline_and_carriage_return():
    s = Screen()
    con = s.console
    con.write('ab')
    assert cursor(con) == (2, 0)
    con.put_char('\n')
    assert cursor(con) == (0, 1)
    con.write('cd\r')
    assert cursor(con) == (0, 1)
    con.write('X')
    assert s.cell_text(1) == 'Xd        '


def test_tab_moves_to_the_next_multiple_of_8_without_erasing():
    s = Screen()
    con = s.console
    con.write('abc\t')
    assert cursor(con) == (8, 0)
    con.write('\t')                         # past the last stop: the right edge
    assert cursor(con) == (COLS, 0)
    con.write('\r\t')
    assert cursor(con) == (8, 0)
    assert s.cell_text(0) == 'abc       '


def test_backspace_moves_back_and_erases():
    s = Screen()
    con = s.console
    con.write('abc\b')
    assert cursor(con) == (2, 0)
    assert s.cell_text(0) == 'ab        '
    con.write('\b\b\b')                     # nothing happens at column 0
    assert cursor(con) == (0, 0)
    assert s.cell_text(0) == '          '


def test_a_full_row_wraps_only_when_the_next_glyph_comes():
    s = Screen()
    con = s.console
    con.write('0123456789')
    assert cursor(con) == (COLS, 0)         # waiting at the edge
    con.write('\n')
    assert cursor(con) == (0, 1)            # no empty row in between
    con.write('0123456789AB')
    assert cursor(con) == (2, 2)
    assert s.cell_text(1) == '0123456789'
    assert s.cell_text(2) == 'AB        '


def test_backspace_at_the_edge_erases_the_last_column():
    s = Screen()
    s.console.write('0123456789\b')
    assert cursor(s.console) == (COLS - 1, 0)
    assert s.cell_text(0) == '012345678 '


# --------------------------------------------------------------- scrolling

def test_scrolling_moves_rows_up_and_clears_the_last_row():
    s = Screen()
    con = s.console
    con.write('first\nsecond\nthird')
    con.set_colors(LIGHT_GREY, BLUE)        # the new row takes the current background
    con.write('\n')
    assert cursor(con) == (0, ROWS - 1)
    assert s.cell_text(0) == 'second    '
    assert s.cell_text(1) == 'third     '
    blue = s.color(BLUE)
    for y in range((ROWS - 1) * FONT_HEIGHT, ROWS * FONT_HEIGHT):
        for x in range(WIDTH):
            assert s.pixel(x, y) == blue, (x, y)
    for y in range(ROWS * FONT_HEIGHT, HEIGHT):   # the bottom margin is left alone
        assert s.pixel(0, y) == 0
    assert s.padding_is_untouched()


def test_scrolling_moves_pixels_and_draws_no_glyph(monkeypatch):
    s = Screen()
    s.console.write('one\ntwo\nthree')
    calls = []
    real = console_mod._draw_glyph
    monkeypatch.setattr(console_mod, '_draw_glyph',
                        lambda *args: calls.append(args) or real(*args))
    moves = []
    real_copy = rawmem.copy
    monkeypatch.setattr(rawmem, 'copy', lambda d, src, n: moves.append(n) or real_copy(d, src, n))
    s.console.put_char('\n')
    assert calls == []
    assert moves                              # the rows were moved by memmove
    assert s.cell_text(0) == 'two       '


def test_wrapping_on_the_last_row_scrolls():
    s = Screen()
    s.console.write('a\nb\n0123456789X')
    assert [s.cell_text(r) for r in range(ROWS)] == ['b         ', '0123456789', 'X         ']


def test_clear_paints_everything_and_homes_the_cursor():
    s = Screen()
    s.console.write('text\nmore')
    s.console.set_colors(WHITE, BLUE)
    s.console.clear()
    assert cursor(s.console) == (0, 0)
    assert all(s.pixel(x, y) == s.color(BLUE) for x in range(WIDTH) for y in range(HEIGHT))


# ----------------------------------------------------------- shadow buffer

SCRIPT = 'Hello\tworld\nline two\b!\n\xe9\n0123456789ABC\nlast\rL'


def test_shadow_buffer_gives_the_same_picture():
    plain = Screen()
    plain.console.write(SCRIPT)
    shadowed = Screen(shadow=True)
    shadowed.console.write(SCRIPT)
    assert shadowed.frame() == plain.frame()
    assert shadowed.padding_is_untouched()


class ReadRecordingMemory(rawmem.SimulatedMemory):
    def __init__(self):
        rawmem.SimulatedMemory.__init__(self)
        self.reads = []

    def read(self, addr, size):
        self.reads.append(addr)
        return rawmem.SimulatedMemory.read(self, addr, size)


def test_with_a_shadow_buffer_scrolling_never_reads_video_memory():
    memory = ReadRecordingMemory()
    rawmem.simulate(memory)
    s = Screen(shadow=True, memory=memory)
    s.console.write('a\nb\nc')
    del memory.reads[:]
    s.console.write('\nd\ne\n')
    fb_end = FB_ADDRESS + s.pitch * HEIGHT
    assert memory.reads
    assert not [a for a in memory.reads if FB_ADDRESS <= a < fb_end]
    assert s.cell_text(0) == 'd         '


def test_back_buffer_errors():
    make_memory()
    con = Console()
    assert con.back_buffer_bytes() == 0
    assert con.attach_back_buffer(SHADOW_ADDRESS, 1 << 20) == E_NOT_CONFIGURED
    s = Screen()
    need = s.console.back_buffer_bytes()
    assert need == WIDTH * HEIGHT * 4
    assert s.console.attach_back_buffer(SHADOW_ADDRESS, need - 1) == E_BACK_BUFFER_TOO_SMALL
    assert s.console.attach_back_buffer(0, need) == E_NO_FRAMEBUFFER
    assert not s.console.has_shadow
    s.console.write('still fine')
    assert s.cell_text(0) == 'still fine'


# ------------------------------------------------------------ configuration

def test_unsupported_bpp_is_refused_and_the_console_stays_silent():
    make_memory()                             # no region: any drawing would fault
    con = Console()
    assert con.configure(FB_ADDRESS, 640, 480, 640, 8, 3, 5, 3, 2, 2, 0) == E_UNSUPPORTED_MODE
    con.write('nothing happens')
    con.paint_panic('nor here')
    assert not con.ready


def test_a_screen_smaller_than_one_cell_is_refused():
    memory = make_memory()
    add_frame(memory, FB_ADDRESS, 4 * 7, 100)
    con = Console()
    assert con.configure(FB_ADDRESS, 7, 100, 4 * 7, 32, *MODES[32]) == E_SCREEN_TOO_SMALL
    assert not con.ready


def test_configure_from_bootinfo():
    memory = make_memory()
    info = BootInfo()
    con = Console()
    assert con.configure_from_bootinfo(info) == E_NO_FRAMEBUFFER
    add_frame(memory, FB_ADDRESS, 640 * 4, 480)
    info.fb_present = True
    info.fb_address = FB_ADDRESS
    info.fb_width, info.fb_height, info.fb_pitch, info.fb_bpp = 640, 480, 640 * 4, 32
    info.fb_red_size, info.fb_red_shift = 8, 16
    info.fb_green_size, info.fb_green_shift = 8, 8
    info.fb_blue_size, info.fb_blue_shift = 8, 0
    assert con.configure_from_bootinfo(info) == E_OK
    assert (con.cols, con.rows) == (80, 30)


# ------------------------------------------------------------------ logging

def test_console_as_a_log_sink():
    s = Screen()
    log.reset_for_tests()
    try:
        assert log.attach(s.console)
        log.info('hi')
        log.warn('w')
    finally:
        log.reset_for_tests()
    assert s.cell_text(0) == 'hi        '
    assert s.cell_text(1, fg=YELLOW) == 'warning: w'
    assert cursor(s.console) == (0, 2)


# ------------------------------------------------------------ log colours

LOG_COLS = 24
LOG_ROWS = 10


def cell_pixels(s, col, row):
    """The set of pixel values in text cell (col, row)."""
    return set(s.pixel(col * FONT_WIDTH + x, row * FONT_HEIGHT + y)
               for y in range(FONT_HEIGHT) for x in range(FONT_WIDTH))


def write_every_kind_of_line():
    log.debug('dbg')
    log.info('inf')
    log.warn('wrn')
    log.error('err')
    log.line(log.PANIC, 'pan')
    log.begin(log.INFO, log.PROCESS)
    log.put('[pid 1] ')
    log.put('hi')
    log.end()
    log.info('back')


EVERY_KIND = [                       # (row text, fg, bg) after write_every_kind_of_line
    ('debug: dbg', DARK_GREY, BLACK),
    ('inf', LIGHT_GREY, BLACK),
    ('warning: wrn', YELLOW, BLACK),
    ('error: err', LIGHT_RED, BLACK),
    ('PANIC: pan', WHITE, RED),
    ('[pid 1] hi', LIGHT_CYAN, BLACK),
    ('back', LIGHT_GREY, BLACK),
]


def assert_line(s, row, text, fg=LIGHT_GREY, bg=BLACK):
    """Text row row shows text in fg on bg, then blank cells (the screen's black)."""
    assert s.cell_text(row, fg, bg)[:len(text)] == text, (row, text)
    assert s.cell_text(row)[len(text):] == ' ' * (s.cols - len(text)), (row, text)


def assert_every_kind_of_line(s):
    for row, (text, fg, bg) in enumerate(EVERY_KIND):
        assert_line(s, row, text, fg, bg)
    # the glyphs really are in two colours: the line's ink on its background
    assert cell_pixels(s, 0, 2) == set([0xFFFF55, 0])            # 'w' of warning: yellow
    assert cell_pixels(s, 0, 3) == set([0xFF5555, 0])            # 'e' of error: light red
    assert cell_pixels(s, 0, 4) == set([0xFFFFFF, 0xAA0000])     # 'P' of PANIC: white on red
    assert cell_pixels(s, 0, 5) == set([0x55FFFF, 0])            # '[' of a process line: cyan
    assert cell_pixels(s, 0, 0) == set([0x555555, 0])            # 'd' of debug: dark grey
    assert cell_pixels(s, 0, 1) == set([0xAAAAAA, 0])            # 'i' of info: light grey
    # only the cells of the PANIC line are red: the rest of its row stays black
    assert cell_pixels(s, len('PANIC: pan'), 4) == set([0])


def test_the_palette_of_the_log_colours():
    assert (DEBUG_FG, PROCESS_FG, WARN_FG, ERROR_FG) == (DARK_GREY, LIGHT_CYAN, YELLOW,
                                                         LIGHT_RED)
    assert (PANIC_FG, PANIC_BG) == (WHITE, RED)


def test_log_lines_are_coloured_by_level_and_process_lines_stand_apart():
    s = Screen(cols=LOG_COLS, rows=LOG_ROWS)
    log.reset_for_tests()
    try:
        assert log.attach(s.console)
        write_every_kind_of_line()
    finally:
        log.reset_for_tests()
    assert_every_kind_of_line(s)
    assert cursor(s.console) == (0, len(EVERY_KIND))


@pytest.mark.parametrize('bpp', [24, 16])
def test_log_colours_in_24_and_16_bpp(bpp):
    s = Screen(bpp=bpp, cols=LOG_COLS, rows=LOG_ROWS)
    log.reset_for_tests()
    try:
        assert log.attach(s.console)
        write_every_kind_of_line()
    finally:
        log.reset_for_tests()
    for row, (text, fg, bg) in enumerate(EVERY_KIND):
        assert_line(s, row, text, fg, bg)


def test_a_replay_colours_the_lines_logged_before_the_console_came():
    s = Screen(cols=LOG_COLS, rows=LOG_ROWS, shadow=True)
    log.reset_for_tests()
    try:
        write_every_kind_of_line()
        log.replay(s.console)
        log.attach(s.console)
        log.begin(log.WARN)
        log.put('live')
        log.end()
    finally:
        log.reset_for_tests()
    assert_every_kind_of_line(s)
    assert_line(s, len(EVERY_KIND), 'warning: live', YELLOW)


def test_a_line_started_before_the_console_was_attached_keeps_its_colour():
    s = Screen(cols=LOG_COLS, rows=LOG_ROWS)
    log.reset_for_tests()
    try:
        log.begin(log.ERROR)            # 'error: ' goes to the history only
        log.replay(s.console)
        log.attach(s.console)
        log.put('late')
        log.end()
        log.info('ok')
    finally:
        log.reset_for_tests()
    assert_line(s, 0, 'error: late', LIGHT_RED)
    assert_line(s, 1, 'ok')


def test_set_colors_sets_the_kernel_info_colour_and_the_others_keep_theirs():
    s = Screen(cols=LOG_COLS, rows=LOG_ROWS)
    assert s.console.set_colors(WHITE, BLUE) == E_OK
    s.console.set_style(log.INFO, log.KERNEL)
    s.console.write('k\n')
    s.console.set_style(log.WARN, log.KERNEL)
    s.console.write('w\n')
    s.console.set_style(log.INFO, log.PROCESS)
    s.console.write('p\n')
    s.console.set_style(log.WARN, log.PROCESS)      # a warning wins over the source
    s.console.write('x\n')
    s.console.set_style(log.INFO, log.KERNEL)
    s.console.set_colors(GREEN, BLACK)
    s.console.write('g')
    assert s.cell_shows(0, 0, ord('k'), s.color(WHITE), s.color(BLUE))
    assert s.cell_shows(0, 1, ord('w'), s.color(YELLOW), s.color(BLUE))
    assert s.cell_shows(0, 2, ord('p'), s.color(LIGHT_CYAN), s.color(BLUE))
    assert s.cell_shows(0, 3, ord('x'), s.color(YELLOW), s.color(BLUE))
    assert s.cell_shows(0, 4, ord('g'), s.color(GREEN), s.color(BLACK))


def test_scrolling_and_erasing_use_the_screen_background_not_a_panic_line_s():
    s = Screen()
    s.console.set_style(log.PANIC, log.KERNEL)
    s.console.write('a\nb\nc\n')                # the last newline scrolls
    s.console.write('d\b')
    black = s.color(BLACK)
    assert all(s.pixel(x, y) == black
               for x in range(WIDTH) for y in range((ROWS - 1) * FONT_HEIGHT, HEIGHT))
    assert s.cell_text(0, WHITE, RED)[0] == 'b'


# ------------------------------------------------------------------- panic

PANIC_COLS = 40
PANIC_ROWS = 6


def assert_panic_screen(s, msg):
    red, white = s.color(PANIC_BG), s.color(PANIC_FG)
    assert red == 0xAA0000 and white == 0xFFFFFF
    for y in range(s.height):
        for x in range(s.width):
            assert s.pixel(x, y) in (red, white), (x, y)
    for x, y in [(0, 0), (s.width - 1, 0), (0, s.height - 1), (s.width - 1, s.height - 1)]:
        assert s.pixel(x, y) == red
    for i in range(len(PANIC_TITLE)):
        assert s.cell_shows(i, 0, ord(PANIC_TITLE[i]), white, red)
    for i in range(PANIC_COLS):
        assert s.cell_shows(i, 1, ord(' '), white, red)
    for i in range(len(msg)):
        assert s.cell_shows(i, 2, ord(msg[i]), white, red)
    assert cursor(s.console) == (0, 3)
    assert s.padding_is_untouched()


def test_panic_screen_colours_the_whole_screen():
    s = Screen(cols=PANIC_COLS, rows=PANIC_ROWS)
    s.console.set_colors(YELLOW, BLUE)
    s.console.write('some text\nmore')
    s.console.paint_panic('oops')
    assert_panic_screen(s, 'oops')


def test_panic_screen_through_the_kernel_panic_path():
    s = Screen(cols=PANIC_COLS, rows=PANIC_ROWS, shadow=True)
    panic.reset_for_tests()
    log.reset_for_tests()
    try:
        panic.set_panic_screen(ConsolePanicScreen(s.console))
        with pytest.raises(cpu.Halted):
            panic.panic('bad thing')
    finally:
        panic.reset_for_tests()
        log.reset_for_tests()
    assert not s.console.has_shadow             # drawn straight on the screen
    assert_panic_screen(s, 'bad thing')


def test_after_the_panic_screen_every_line_stays_white_on_red():
    s = Screen(cols=PANIC_COLS, rows=PANIC_ROWS + 2)
    log.reset_for_tests()
    try:
        log.attach(s.console)
        log.info('before')
        s.console.paint_panic('oops')
        log.warn('w')
        log.begin(log.INFO, log.PROCESS)
        log.put('p')
        log.end()
        log.debug('d')
    finally:
        log.reset_for_tests()
    for row, text in enumerate(['warning: w', 'p', 'debug: d']):
        assert s.cell_text(3 + row, WHITE, RED) == text.ljust(PANIC_COLS)
    s.console.reset()                               # a new configure follows styles again
    assert s.console.follow_styles


def test_the_prebuilt_panic_screen_paints_the_prebuilt_console():
    assert console_mod.PANIC_SCREEN.console is console_mod.CONSOLE
