"""The picture in the README: the framebuffer console after `make run`.

    .venv/bin/python tools/screenshot.py            # writes docs/console.png

Builds Elyz.iso with `make -s all` (with the Makefile's default command
line, elyz.init=hello,demo,server: init runs hello, demo and server; an
ELYZ_CMDLINE in the environment is ignored), boots it in QEMU under SeaBIOS
(GRUB sets the framebuffer mode) with `make run`'s 512 MiB, waits on the
serial log for MARKER (init's last line: without elyz.exit the kernel
then idles with init done), takes QEMU's screendump (a PPM, tools/qemurun.py),
crops it to the written part of the screen with a black border, and writes
it as a PNG (zlib and struct: no imaging library needed).

Options: --out PATH (default docs/console.png), --ppm PATH (keep the raw
screendump), --no-build (boot the Elyz.iso that exists), --no-crop (the
whole screen), --timeout SECONDS (default 120).  Exits 1, with the log's
tail, when the marker never came.
"""

from __future__ import print_function

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import qemurun

REPO = qemurun.REPO
ISO = os.path.join(REPO, 'Elyz.iso')
DEFAULT_OUT = os.path.join(REPO, 'docs', 'console.png')
MARKER = 'init: server exited with 0'     # init's last line under the default command line
# COM1 gets '\r\n' for the line's '\n' after the console has drawn the line's
# last glyph (the console is attached after the serial port): waiting for it
# means the screendump shows the whole line.
UNTIL = MARKER + '\r\n'
MEMORY = '512M'                           # as `make run` (GNUmakefile QEMU_BASE)
BORDER = 8                                # black pixels kept around the text
BACKGROUND = (0, 0, 0)                    # the console's background (BLACK)


def build():
    """Runs `make -s all` with the default command line; exits on failure."""
    env = dict(os.environ)
    env.pop('ELYZ_CMDLINE', None)
    print('screenshot: make -s all')
    if subprocess.call(['make', '-s', 'all'], cwd=REPO, env=env) != 0:
        sys.exit('screenshot: make all failed')


def used_box(width, height, rgb, background=BACKGROUND):
    """Returns (left, top, right, bottom), the smallest rectangle holding
    every pixel that is not the background (right and bottom exclusive),
    or None when the screen is blank."""
    bg = bytearray(background) * width
    rows = [bytes(rgb[y * width * 3:(y + 1) * width * 3]) for y in range(height)]
    bg = bytes(bg)
    used = [y for y in range(height) if rows[y] != bg]
    if not used:
        return None
    top, bottom = used[0], used[-1] + 1
    left, right = width, 0
    pixel_bg = bytes(bytearray(background))
    for y in range(top, bottom):
        row = rows[y]
        if row == bg:
            continue
        x = 0
        while x < left and row[3 * x:3 * x + 3] == pixel_bg:
            x += 1
        left = min(left, x)
        x = width
        while x > right and row[3 * x - 3:3 * x] == pixel_bg:
            x -= 1
        right = max(right, x)
    return left, top, right, bottom


def crop(width, height, rgb, box, border=BORDER, background=BACKGROUND):
    """Returns (width, height, rgb) of the rectangle box with border pixels of
    background around it (taken from the screen where it has them)."""
    left, top, right, bottom = box
    out_w = right - left + 2 * border
    out_h = bottom - top + 2 * border
    fill = bytearray(background)
    out = bytearray()
    for oy in range(out_h):
        y = top - border + oy
        row = bytearray()
        x0 = left - border
        x1 = right + border
        if 0 <= y < height:
            lo, hi = max(x0, 0), min(x1, width)
            row += fill * (lo - x0)
            row += bytearray(rgb[(y * width + lo) * 3:(y * width + hi) * 3])
            row += fill * (x1 - hi)
        else:
            row += fill * out_w
        out += row
    return out_w, out_h, bytes(out)


def _chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(width, height, rgb):
    """Returns a PNG (8-bit RGB, no interlace) of the rows of rgb."""
    stride = width * 3
    raw = bytearray()
    for y in range(height):
        raw.append(0)                     # filter: none (the text compresses well anyway)
        raw += bytearray(rgb[y * stride:(y + 1) * stride])
    return (b'\x89PNG\r\n\x1a\n'
            + _chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
            + _chunk(b'IDAT', zlib.compress(bytes(raw), 9))
            + _chunk(b'IEND', b''))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=DEFAULT_OUT)
    parser.add_argument('--ppm', help='also keep the raw screendump here')
    parser.add_argument('--no-build', action='store_true')
    parser.add_argument('--no-crop', action='store_true')
    parser.add_argument('--timeout', type=float, default=120.0)
    args = parser.parse_args()
    if not args.no_build:
        build()
    if not os.path.exists(ISO):
        sys.exit('screenshot: no %s (run without --no-build)' % ISO)
    ppm = args.ppm
    if ppm is None:
        fd, ppm = tempfile.mkstemp(suffix='.ppm')
        os.close(fd)
        os.remove(ppm)                    # _screendump waits for QEMU to create it
    print('screenshot: booting %s (BIOS) until %r' % (os.path.basename(ISO), MARKER))
    try:
        result = qemurun.boot(image=ISO, uefi=False, memory=MEMORY, until=UNTIL,
                              timeout=args.timeout, screendump=ppm)
        if result.marker_seconds is None or not os.path.exists(ppm):
            print(result.tail(), file=sys.stderr)
            sys.exit('screenshot: %r never came (status %s%s)'
                     % (MARKER, result.status, ', timed out' if result.timed_out else ''))
        width, height, rgb = qemurun.read_ppm(ppm)
    finally:
        if args.ppm is None and os.path.exists(ppm):
            os.remove(ppm)
    box = None if args.no_crop else used_box(width, height, rgb)
    if box is not None:
        width, height, rgb = crop(width, height, rgb, box)
    data = png_bytes(width, height, rgb)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    with open(args.out, 'wb') as f:
        f.write(data)
    print('screenshot: %s, %dx%d, %d bytes (boot to marker %.1f s)'
          % (os.path.relpath(args.out), width, height, len(data), result.marker_seconds))


if __name__ == '__main__':
    main()
