"""A linear framebuffer: pixels in memory, row after row.

    fb = Framebuffer()
    fb.configure(address, width, height, pitch, bpp, red_size, red_shift,
                 green_size, green_shift, blue_size, blue_shift)
                                    -> 0 or E_* below; until it succeeds the
                                       drawing calls do nothing
    fb.configure_from_bootinfo(info) -> the same, from BootInfo.fb_*
    fb.pack_color(r, g, b)           -> the pixel value of an 8-bit-per-channel colour
    fb.put_pixel(x, y, pixel)        fb.pixel_at(x, y) -> pixel, or -1 off screen
    fb.fill_rect(x, y, w, h, pixel)  clipped to the screen
    fb.copy_rows(dst_y, src_y, n_rows)
                                     moves whole pixel rows (memmove: overlap is fine)
    fb.copy_rect_from(src, x, y, w, h)
                                     copies a rectangle from another Framebuffer
                                     of the same width, height and bpp (a shadow)
    fb.store_pixel(addr, pixel)      one pixel at a byte address
    frame_bytes(width, height, bpp)  -> bytes of a packed (pitch = row bytes) frame

Memory layout (the one Limine, Multiboot2 and the UEFI GOP describe):

    address + y * pitch + x * bytes_per_pixel  is pixel (x, y)
    |<----- width * bytes_per_pixel ----->|<- padding ->|
    |<------------------ pitch ------------------------>|

A pixel is a little-endian integer of bpp bits in which each channel takes
`size` bits at bit `shift`.  Supported: 32 bpp (usually x8r8g8b8), 24 bpp
(r8g8b8) and 16 bpp (r5g6b5, or x1r5g5b5).  The padding bytes at the end
of each row are never written.  Addresses and pixels are Signed words; a
higher-half address is negative.
"""

from rpython.rlib.objectmodel import specialize

from elyz.rlib_kernel import rawmem

E_OK = 0
E_NO_FRAMEBUFFER = 1        # no framebuffer described, or its address is 0
E_UNSUPPORTED_MODE = 2      # bpp is not 16, 24 or 32, or a channel does not fit
E_BAD_GEOMETRY = 3          # width/height not positive, or pitch < width * bytes per pixel

BITS_PER_BYTE = 8
CHANNEL_MAX_BITS = 8        # pack_color takes 8-bit channels
BYTE_MASK = 0xFF

# The channel layout assumed when the boot protocol gives none (all sizes 0):
# (red_size, red_shift, green_size, green_shift, blue_size, blue_shift).
DEFAULT_LAYOUT_32 = (8, 16, 8, 8, 8, 0)
DEFAULT_LAYOUT_24 = (8, 16, 8, 8, 8, 0)
DEFAULT_LAYOUT_16 = (5, 11, 6, 5, 5, 0)


def frame_bytes(width, height, bpp):
    """Returns the bytes a frame of width x height pixels of bpp bits takes
    with no row padding; 0 when a dimension is not positive."""
    if width <= 0 or height <= 0 or bpp <= 0:
        return 0
    return width * height * ((bpp + BITS_PER_BYTE - 1) // BITS_PER_BYTE)


def _clip_span(start, length, limit):
    """Returns the length of the part of [start, start + length) that lies
    in [0, limit), which starts at max(start, 0); <= 0 when there is none."""
    return min(start + length, limit) - max(start, 0)


def _channel_fits(size, shift, bpp):
    """Returns True when a channel of size bits at shift lies inside bpp bits."""
    return 0 < size <= CHANNEL_MAX_BITS and shift >= 0 and shift + size <= bpp


class Framebuffer(object):
    def __init__(self):
        self.reset()

    def reset(self):
        """Forgets the mode; returns nothing.  Drawing then does nothing."""
        self.ready = False
        self.address = 0
        self.width = 0
        self.height = 0
        self.pitch = 0
        self.bpp = 0
        self.bytes_per_pixel = 0
        self.row_bytes = 0          # width * bytes_per_pixel: the visible part of a row
        self.red_size = 0
        self.red_shift = 0
        self.green_size = 0
        self.green_shift = 0
        self.blue_size = 0
        self.blue_shift = 0

    # ------------------------------------------------------------ setting up

    def configure(self, address, width, height, pitch, bpp, red_size, red_shift,
                  green_size, green_shift, blue_size, blue_shift):
        """Takes on the mode.  Returns 0, or E_NO_FRAMEBUFFER (address 0),
        E_UNSUPPORTED_MODE (bpp not 16/24/32, or a channel outside the
        pixel or wider than 8 bits), E_BAD_GEOMETRY (a dimension not positive,
        pitch too small); on an error the framebuffer is left unusable."""
        self.reset()
        if address == 0:
            return E_NO_FRAMEBUFFER
        if bpp != 32 and bpp != 24 and bpp != 16:
            return E_UNSUPPORTED_MODE
        if red_size == 0 and green_size == 0 and blue_size == 0:
            if bpp == 32:
                layout = DEFAULT_LAYOUT_32
            elif bpp == 24:
                layout = DEFAULT_LAYOUT_24
            else:
                layout = DEFAULT_LAYOUT_16
            red_size, red_shift, green_size, green_shift, blue_size, blue_shift = layout
        if not (_channel_fits(red_size, red_shift, bpp)
                and _channel_fits(green_size, green_shift, bpp)
                and _channel_fits(blue_size, blue_shift, bpp)):
            return E_UNSUPPORTED_MODE
        bytes_per_pixel = bpp // BITS_PER_BYTE
        if width <= 0 or height <= 0 or pitch < width * bytes_per_pixel:
            return E_BAD_GEOMETRY
        self.address = address
        self.width = width
        self.height = height
        self.pitch = pitch
        self.bpp = bpp
        self.bytes_per_pixel = bytes_per_pixel
        self.row_bytes = width * bytes_per_pixel
        self.red_size = red_size
        self.red_shift = red_shift
        self.green_size = green_size
        self.green_shift = green_shift
        self.blue_size = blue_size
        self.blue_shift = blue_shift
        self.ready = True
        return E_OK

    def configure_from_bootinfo(self, info):
        """Takes on the mode in info.fb_*.  Returns 0, E_NO_FRAMEBUFFER when
        info has none, or the errors of configure."""
        if not info.fb_present:
            self.reset()
            return E_NO_FRAMEBUFFER
        return self.configure(info.fb_address, info.fb_width, info.fb_height,
                              info.fb_pitch, info.fb_bpp,
                              info.fb_red_size, info.fb_red_shift,
                              info.fb_green_size, info.fb_green_shift,
                              info.fb_blue_size, info.fb_blue_shift)

    def configure_like(self, other, address):
        """Takes on other's mode (which must be configured) at address with
        packed rows (pitch = width * bytes per pixel): a shadow of other.
        Returns 0, or the errors of configure."""
        return self.configure(address, other.width, other.height, other.row_bytes,
                              other.bpp, other.red_size, other.red_shift,
                              other.green_size, other.green_shift,
                              other.blue_size, other.blue_shift)

    def size_bytes(self):
        """Returns the bytes from the first pixel to past the last one; 0
        when not configured."""
        if not self.ready:
            return 0
        return (self.height - 1) * self.pitch + self.row_bytes

    # ---------------------------------------------------------------- pixels

    def pack_color(self, r, g, b):
        """Returns the pixel value for the colour (r, g, b), each 0..255
        (higher bits ignored); 0 when not configured."""
        return ((((r & BYTE_MASK) >> (CHANNEL_MAX_BITS - self.red_size)) << self.red_shift)
                | (((g & BYTE_MASK) >> (CHANNEL_MAX_BITS - self.green_size)) << self.green_shift)
                | (((b & BYTE_MASK) >> (CHANNEL_MAX_BITS - self.blue_size)) << self.blue_shift))

    def store_pixel(self, addr, pixel):
        """Writes pixel at byte address addr; returns nothing.  No checks:
        the callers clip."""
        bpp = self.bytes_per_pixel
        if bpp == 4:
            rawmem.store_u32(addr, pixel)
        elif bpp == 2:
            rawmem.store_u16(addr, pixel)
        else:
            rawmem.store_u16(addr, pixel & 0xFFFF)
            rawmem.store_u8(addr + 2, (pixel >> 16) & BYTE_MASK)

    def load_pixel(self, addr):
        """Returns the pixel at byte address addr.  No checks."""
        bpp = self.bytes_per_pixel
        if bpp == 4:
            return rawmem.load_u32(addr)
        elif bpp == 2:
            return rawmem.load_u16(addr)
        return rawmem.load_u16(addr) | (rawmem.load_u8(addr + 2) << 16)

    def pixel_address(self, x, y):
        """Returns the byte address of pixel (x, y).  No checks."""
        return self.address + y * self.pitch + x * self.bytes_per_pixel

    def put_pixel(self, x, y, pixel):
        """Sets pixel (x, y); returns nothing.  Off-screen pixels (or an
        unconfigured framebuffer) are ignored."""
        if not self.ready or x < 0 or y < 0 or x >= self.width or y >= self.height:
            return
        self.store_pixel(self.pixel_address(x, y), pixel)

    def pixel_at(self, x, y):
        """Returns the value of pixel (x, y), or -1 when it is off screen or
        the framebuffer is not configured."""
        if not self.ready or x < 0 or y < 0 or x >= self.width or y >= self.height:
            return -1
        return self.load_pixel(self.pixel_address(x, y))

    # ------------------------------------------------------------ rectangles

    def _pixel_is_one_byte_repeated(self, pixel):
        """Returns True when every byte of pixel is the same (memset can draw it)."""
        low = pixel & BYTE_MASK
        for i in range(1, self.bytes_per_pixel):
            if (pixel >> (BITS_PER_BYTE * i)) & BYTE_MASK != low:
                return False
        return True

    def fill_rect(self, x, y, w, h, pixel):
        """Paints the rectangle with pixel, clipped to the screen; returns
        nothing (an empty or off-screen rectangle draws nothing)."""
        if not self.ready:
            return
        w = _clip_span(x, w, self.width)
        h = _clip_span(y, h, self.height)
        if w <= 0 or h <= 0:
            return
        x = max(x, 0)
        y = max(y, 0)
        bpp = self.bytes_per_pixel
        pitch = self.pitch
        row = self.pixel_address(x, y)
        if self._pixel_is_one_byte_repeated(pixel):
            nbytes = w * bpp
            byte = pixel & BYTE_MASK
            for i in range(h):
                rawmem.fill(row, byte, nbytes)
                row += pitch
        elif bpp == 4:
            self._fill_pixels(True, row, w, h, pixel)
        else:
            self._fill_pixels(False, row, w, h, pixel)

    @specialize.arg(1)
    def _fill_pixels(self, wide, row, w, h, pixel):
        """Stores pixel w times in each of h rows from address row; returns
        nothing.  wide, a constant, says the pixels are 32-bit: they are
        then stored directly, in a copy compiled for that common case."""
        bpp = self.bytes_per_pixel
        for i in range(h):
            addr = row
            for j in range(w):
                if wide:
                    rawmem.store_u32(addr, pixel)
                else:
                    self.store_pixel(addr, pixel)
                addr += bpp
            row += self.pitch

    def copy_rows(self, dst_y, src_y, n_rows):
        """Moves n_rows whole pixel rows from src_y to dst_y (the ranges may
        overlap); returns nothing.  Rows outside the screen are dropped from
        both ranges; the padding after each row is left alone."""
        if not self.ready:
            return
        if src_y < 0:
            n_rows += src_y
            dst_y -= src_y
            src_y = 0
        if dst_y < 0:
            n_rows += dst_y
            src_y -= dst_y
            dst_y = 0
        if src_y + n_rows > self.height:
            n_rows = self.height - src_y
        if dst_y + n_rows > self.height:
            n_rows = self.height - dst_y
        if n_rows <= 0 or dst_y == src_y:
            return
        pitch = self.pitch
        if pitch == self.row_bytes:                 # no padding: one memmove
            rawmem.copy(self.address + dst_y * pitch, self.address + src_y * pitch,
                        n_rows * pitch)
            return
        # Row by row, in the order that never overwrites a row not yet moved.
        if dst_y < src_y:
            first, step = 0, 1
        else:
            first, step = n_rows - 1, -1
        i = first
        for k in range(n_rows):
            rawmem.copy(self.address + (dst_y + i) * pitch,
                        self.address + (src_y + i) * pitch, self.row_bytes)
            i += step

    def copy_rect_from(self, src, x, y, w, h):
        """Copies the rectangle (x, y, w, h) of src to the same place here;
        src must have this width, height and bpp (a shadow buffer).  Returns
        nothing; the rectangle is clipped, a mismatched src copies nothing."""
        if not self.ready or not src.ready:
            return
        if (src.width != self.width or src.height != self.height
                or src.bytes_per_pixel != self.bytes_per_pixel):
            return
        w = _clip_span(x, w, self.width)
        h = _clip_span(y, h, self.height)
        if w <= 0 or h <= 0:
            return
        x = max(x, 0)
        y = max(y, 0)
        if (w == self.width and self.pitch == self.row_bytes
                and src.pitch == src.row_bytes):    # whole packed rows: one memmove
            rawmem.copy(self.pixel_address(0, y), src.pixel_address(0, y), h * self.pitch)
            return
        nbytes = w * self.bytes_per_pixel
        dst = self.pixel_address(x, y)
        source = src.pixel_address(x, y)
        for i in range(h):
            rawmem.copy(dst, source, nbytes)
            dst += self.pitch
            source += src.pitch
