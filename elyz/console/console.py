"""The text console on the boot framebuffer: a log sink and the panic screen.

    CONSOLE                            the kernel's console (prebuilt, like COM1)
    PANIC_SCREEN                       a PanicScreen painting on CONSOLE

    Console()
      configure_from_bootinfo(info)    -> 0 or an error code (E_* here and in
                                          elyz.console.framebuffer); clears the screen
      configure(address, width, height, pitch, bpp, red_size, red_shift,
                green_size, green_shift, blue_size, blue_shift)   -> the same
      back_buffer_bytes()              -> RAM a shadow buffer needs (0: not configured)
      attach_back_buffer(address, nbytes) -> 0 or an error code
      detach_back_buffer()
      put_char(c)                      LogSink: one character (controls below)
      set_style(level, source)         LogSink: the colours of the log lines to come
                                          (see "Log colours" below)
      write(s)                         every character of s
      set_colors(fg, bg)               -> 0 or E_BAD_COLOR; palette indexes (BLACK..WHITE):
                                          the screen's colours (clearing, scrolling,
                                          erasing) and those of kernel INFO lines
      clear()                          whole screen to the background, cursor home
      scroll_up()                      text one row up, bottom row cleared
      paint_panic(msg)                 white on red: PANIC_TITLE, then msg

Characters: '\\n' goes to the start of the next row, '\\r' to the start of
this one, '\\t' to the next multiple of TAB_WIDTH columns (at most the
right edge), '\\b' moves one column back and erases it (nothing at column 0).
Every other code draws its glyph of elyz.console.font_data (the font is
indexed by Latin-1 code).  A glyph written in the last column leaves the
cursor just past the edge; the next glyph then wraps to a new row (so a
full row followed by '\\n' does not leave an empty row).  Below the last
row the text scrolls: pixel rows move up with memmove, no glyph is redrawn.

Log colours: the log tells its sinks each line's level and source
(elyz.lib.log), and glyphs are drawn in

    kernel INFO lines            the set_colors foreground (LIGHT_GREY by default)
    DEBUG lines                  DEBUG_FG     dark grey
    process lines (debug_write)  PROCESS_FG   light cyan (its DEBUG and INFO lines)
    WARN lines                   WARN_FG      yellow
    ERROR lines                  ERROR_FG     light red
    PANIC lines                  PANIC_FG on PANIC_BG: white on red

on the set_colors background (PANIC lines: on their own).  Once paint_panic
has run, styles are ignored: everything stays white on red.

Shadow buffer: with attach_back_buffer, glyphs are drawn into that RAM and
each cell is then copied to the framebuffer; scrolling moves rows inside the
RAM copy (never reading video memory) and copies the text area out.
paint_panic drops the shadow and draws straight to the screen.

Nothing on the put_char path allocates: pixels for the colours are
computed by set_colors (set_style picks among them), glyph bits are read
from a constant string.
"""

from rpython.rlib.objectmodel import specialize

from elyz.console import font_data
from elyz.console.framebuffer import Framebuffer, E_OK, frame_bytes
from elyz.lib.log import LogSink, DEBUG, WARN, ERROR, PANIC, PROCESS, INFO, KERNEL
from elyz.kernel.panic import PanicScreen
from elyz.rlib_kernel import rawmem

E_NOT_CONFIGURED = 10           # the console has no framebuffer yet
E_SCREEN_TOO_SMALL = 11         # not even one character cell fits
E_BACK_BUFFER_TOO_SMALL = 12    # the shadow buffer is smaller than back_buffer_bytes()
E_BAD_COLOR = 13                # a palette index outside 0..PALETTE_SIZE-1

FONT_WIDTH = font_data.WIDTH
FONT_HEIGHT = font_data.HEIGHT
FONT_BYTES_PER_ROW = font_data.BYTES_PER_ROW
FONT_GLYPH_BYTES = font_data.GLYPH_BYTES
FONT_GLYPH_COUNT = font_data.GLYPH_COUNT
FONT_TOP_BIT = 1 << (FONT_BYTES_PER_ROW * 8 - 1)     # the leftmost pixel of a glyph row
GLYPHS = font_data.GLYPHS

TAB_WIDTH = 8
CHAR_NEWLINE = 0x0A
CHAR_RETURN = 0x0D
CHAR_TAB = 0x09
CHAR_BACKSPACE = 0x08

# The 16 colours of the VGA text mode, by their usual numbers.
BLACK = 0
BLUE = 1
GREEN = 2
CYAN = 3
RED = 4
MAGENTA = 5
BROWN = 6
LIGHT_GREY = 7
DARK_GREY = 8
LIGHT_BLUE = 9
LIGHT_GREEN = 10
LIGHT_CYAN = 11
LIGHT_RED = 12
LIGHT_MAGENTA = 13
YELLOW = 14
WHITE = 15
PALETTE_SIZE = 16
PALETTE_RGB = [0x000000, 0x0000AA, 0x00AA00, 0x00AAAA,
               0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
               0x555555, 0x5555FF, 0x55FF55, 0x55FFFF,
               0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF]

DEFAULT_FG = LIGHT_GREY
DEFAULT_BG = BLACK
PANIC_FG = WHITE
PANIC_BG = RED
PANIC_TITLE = '*** Elyz kernel panic ***'

# Foregrounds of the log lines that are not kernel INFO lines (see the module
# docstring); PANIC lines use PANIC_FG on PANIC_BG.
DEBUG_FG = DARK_GREY
PROCESS_FG = LIGHT_CYAN
WARN_FG = YELLOW
ERROR_FG = LIGHT_RED


class Console(LogSink):
    def __init__(self):
        self.screen = Framebuffer()     # the video memory
        self.shadow = Framebuffer()     # the RAM copy, when attached
        self.palette = [0] * PALETTE_SIZE
        self.reset()

    def reset(self):
        """Forgets the framebuffer and the shadow; returns nothing.  Output
        is then dropped until configure succeeds."""
        self.screen.reset()
        self.shadow.reset()
        self.surface = self.screen      # where glyphs are drawn
        self.has_shadow = False
        self.ready = False
        self.cols = 0
        self.rows = 0
        self.cursor_x = 0               # column; == cols means "wrap before the next glyph"
        self.cursor_y = 0               # row
        self.fg = DEFAULT_FG
        self.bg = DEFAULT_BG
        self.fg_pixel = 0               # the screen's colours (set_colors)
        self.bg_pixel = 0
        self.style_level = INFO         # the log line being shown (set_style)
        self.style_source = KERNEL
        self.follow_styles = True       # False once the panic screen is up
        self.text_fg_pixel = 0          # what glyphs are drawn in
        self.text_bg_pixel = 0

    # ------------------------------------------------------------ setting up

    def configure(self, address, width, height, pitch, bpp, red_size, red_shift,
                  green_size, green_shift, blue_size, blue_shift):
        """Takes on the framebuffer, sets the default colours and clears it.
        Returns 0, the errors of Framebuffer.configure, or E_SCREEN_TOO_SMALL;
        on an error the console stays silent."""
        self.reset()
        status = self.screen.configure(address, width, height, pitch, bpp,
                                       red_size, red_shift, green_size, green_shift,
                                       blue_size, blue_shift)
        if status != E_OK:
            return status
        return self._start()

    def configure_from_bootinfo(self, info):
        """Takes on the framebuffer BootInfo describes, and clears it.  Returns
        0, E_NO_FRAMEBUFFER when there is none, or the errors of configure."""
        self.reset()
        status = self.screen.configure_from_bootinfo(info)
        if status != E_OK:
            return status
        return self._start()

    def _start(self):
        """Finishes configure once self.screen is set.  Returns 0, or
        E_SCREEN_TOO_SMALL (and forgets the screen)."""
        cols = self.screen.width // FONT_WIDTH
        rows = self.screen.height // FONT_HEIGHT
        if cols <= 0 or rows <= 0:
            self.reset()
            return E_SCREEN_TOO_SMALL
        self.cols = cols
        self.rows = rows
        for i in range(PALETTE_SIZE):
            rgb = PALETTE_RGB[i]
            self.palette[i] = self.screen.pack_color((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF,
                                                     rgb & 0xFF)
        self.ready = True
        self.set_colors(DEFAULT_FG, DEFAULT_BG)
        self.clear()
        return E_OK

    def back_buffer_bytes(self):
        """Returns the bytes of RAM attach_back_buffer needs; 0 when the
        console is not configured."""
        if not self.ready:
            return 0
        return frame_bytes(self.screen.width, self.screen.height, self.screen.bpp)

    def attach_back_buffer(self, address, nbytes):
        """Draws into the nbytes of RAM at address from now on (copying the
        current screen there first).  Returns 0, E_NOT_CONFIGURED,
        E_BACK_BUFFER_TOO_SMALL, or the errors of Framebuffer.configure
        (address 0: E_NO_FRAMEBUFFER); on an error nothing changes."""
        if not self.ready:
            return E_NOT_CONFIGURED
        if nbytes < self.back_buffer_bytes():
            return E_BACK_BUFFER_TOO_SMALL
        status = self.shadow.configure_like(self.screen, address)
        if status != E_OK:
            self.shadow.reset()
            return status
        self.shadow.copy_rect_from(self.screen, 0, 0, self.screen.width, self.screen.height)
        self.surface = self.shadow
        self.has_shadow = True
        return E_OK

    def detach_back_buffer(self):
        """Draws straight to the framebuffer again; returns nothing."""
        self.shadow.reset()
        self.surface = self.screen
        self.has_shadow = False

    def set_colors(self, fg, bg):
        """Sets the palette indexes used from now on.  Returns 0, or
        E_BAD_COLOR (colours unchanged) when one is outside the palette."""
        if fg < 0 or fg >= PALETTE_SIZE or bg < 0 or bg >= PALETTE_SIZE:
            return E_BAD_COLOR
        self.fg = fg
        self.bg = bg
        self.fg_pixel = self.palette[fg]
        self.bg_pixel = self.palette[bg]
        self._apply_style()
        return E_OK

    def set_style(self, level, source):
        """LogSink: draws the glyphs to come in the colours of a log line
        of level from source (see the module docstring); returns nothing.
        Allocates nothing."""
        self.style_level = level
        self.style_source = source
        self._apply_style()

    def _apply_style(self):
        """Sets the text pixels from the screen's colours and the style."""
        fg = self.fg_pixel
        bg = self.bg_pixel
        if self.follow_styles:
            level = self.style_level
            if level >= PANIC:
                fg = self.palette[PANIC_FG]
                bg = self.palette[PANIC_BG]
            elif level == ERROR:
                fg = self.palette[ERROR_FG]
            elif level == WARN:
                fg = self.palette[WARN_FG]
            elif self.style_source == PROCESS:
                fg = self.palette[PROCESS_FG]
            elif level == DEBUG:
                fg = self.palette[DEBUG_FG]
        self.text_fg_pixel = fg
        self.text_bg_pixel = bg

    # ---------------------------------------------------------------- output

    def put_char(self, c):
        """Shows one character (see the module docstring); returns nothing.
        Does nothing while the console is not configured."""
        if not self.ready:
            return
        code = ord(c)
        if code == CHAR_NEWLINE:
            self.newline()
        elif code == CHAR_RETURN:
            self.cursor_x = 0
        elif code == CHAR_TAB:
            x = (self.cursor_x // TAB_WIDTH + 1) * TAB_WIDTH
            if x > self.cols:
                x = self.cols
            self.cursor_x = x
        elif code == CHAR_BACKSPACE:
            if self.cursor_x > 0:
                self.cursor_x -= 1
                self.erase_cell(self.cursor_x, self.cursor_y)
        else:
            if self.cursor_x >= self.cols:
                self.newline()
            self.draw_cell(self.cursor_x, self.cursor_y, code)
            self.cursor_x += 1

    def write(self, s):
        """Shows every character of s; returns nothing."""
        for i in range(len(s)):
            self.put_char(s[i])

    def newline(self):
        """Moves the cursor to the start of the next row, scrolling at the
        bottom; returns nothing."""
        self.cursor_x = 0
        if self.cursor_y + 1 < self.rows:
            self.cursor_y += 1
        else:
            self.scroll_up()

    def scroll_up(self):
        """Moves the text one row up and clears the bottom text row (pixel
        rows below the last text row are left alone); returns nothing."""
        if not self.ready:
            return
        surface = self.surface
        text_height = self.rows * FONT_HEIGHT
        last_row_y = text_height - FONT_HEIGHT
        surface.copy_rows(0, FONT_HEIGHT, last_row_y)
        surface.fill_rect(0, last_row_y, surface.width, FONT_HEIGHT, self.bg_pixel)
        if self.has_shadow:
            self.screen.copy_rect_from(self.shadow, 0, 0, surface.width, text_height)

    def clear(self):
        """Paints the whole screen in the background colour and moves the
        cursor home; returns nothing."""
        if not self.ready:
            return
        self.screen.fill_rect(0, 0, self.screen.width, self.screen.height, self.bg_pixel)
        if self.has_shadow:
            self.shadow.fill_rect(0, 0, self.shadow.width, self.shadow.height, self.bg_pixel)
        self.cursor_x = 0
        self.cursor_y = 0

    # ----------------------------------------------------------------- cells

    def draw_cell(self, col, row, code):
        """Draws glyph code (0..255) in the text colours at text cell
        (col, row); returns nothing.  No checks: the callers keep col and
        row on the screen."""
        x = col * FONT_WIDTH
        y = row * FONT_HEIGHT
        surface = self.surface
        addr = surface.pixel_address(x, y)
        glyph = (code & (FONT_GLYPH_COUNT - 1)) * FONT_GLYPH_BYTES   # GLYPH_COUNT is 256
        if surface.bytes_per_pixel == 4:
            _draw_glyph(True, surface, addr, glyph, self.text_fg_pixel, self.text_bg_pixel)
        else:
            _draw_glyph(False, surface, addr, glyph, self.text_fg_pixel, self.text_bg_pixel)
        if self.has_shadow:
            self.screen.copy_rect_from(self.shadow, x, y, FONT_WIDTH, FONT_HEIGHT)

    def erase_cell(self, col, row):
        """Paints text cell (col, row) in the background colour; returns nothing."""
        x = col * FONT_WIDTH
        y = row * FONT_HEIGHT
        self.surface.fill_rect(x, y, FONT_WIDTH, FONT_HEIGHT, self.bg_pixel)
        if self.has_shadow:
            self.screen.copy_rect_from(self.shadow, x, y, FONT_WIDTH, FONT_HEIGHT)

    # ----------------------------------------------------------------- panic

    def paint_panic(self, msg):
        """Fills the screen with PANIC_BG and shows PANIC_TITLE and msg in
        PANIC_FG, straight on the framebuffer; returns nothing.  Does nothing
        while the console is not configured."""
        if not self.ready:
            return
        self.detach_back_buffer()
        self.follow_styles = False
        self.set_colors(PANIC_FG, PANIC_BG)
        self.clear()
        self.write(PANIC_TITLE)
        self.newline()
        self.newline()
        self.write(msg)
        self.newline()


def _glyph_row_bits(glyph):
    """Returns the bits of the glyph row starting at offset glyph of GLYPHS,
    leftmost pixel in FONT_TOP_BIT."""
    bits = 0
    for k in range(FONT_BYTES_PER_ROW):
        bits = (bits << 8) | ord(GLYPHS[glyph + k])
    return bits


@specialize.arg(0)
def _draw_glyph(wide, surface, addr, glyph, fg, bg):
    """Draws the glyph at offset glyph of GLYPHS with surface's pixel size
    from address addr; returns nothing.  wide, a constant, says the pixels
    are 32-bit: they are then stored directly, in a copy of this function
    compiled for that common case (store_pixel there would make put_char
    about 1.6 times slower)."""
    pitch = surface.pitch
    step = surface.bytes_per_pixel
    for row in range(FONT_HEIGHT):
        bits = _glyph_row_bits(glyph)
        glyph += FONT_BYTES_PER_ROW
        mask = FONT_TOP_BIT
        pixel_addr = addr
        for col in range(FONT_WIDTH):
            if bits & mask:
                pixel = fg
            else:
                pixel = bg
            if wide:
                rawmem.store_u32(pixel_addr, pixel)
            else:
                surface.store_pixel(pixel_addr, pixel)
            pixel_addr += step
            mask >>= 1
        addr += pitch


class ConsolePanicScreen(PanicScreen):
    """The panic screen of elyz.kernel.panic, painted by a Console."""

    def __init__(self, console):
        self.console = console

    def paint_panic(self, msg):
        """Paints the console's panic screen; returns nothing."""
        self.console.paint_panic(msg)


# The kernel's console and its panic screen, prebuilt into the image.
CONSOLE = Console()
PANIC_SCREEN = ConsolePanicScreen(CONSOLE)
