#!/usr/bin/env python
"""Converts a PC Screen Font (PSF1 or PSF2, gzip-compressed or not) into the
Python module elyz/console/font_data.py.  Runs under Python 2.7 and 3.

    python tools/psf2py.py FONT.psf[.gz] [-o OUTPUT.py] [--raw]
                           [--package NAME] [--notice FILE [--notice-section NAME]]

The module gets WIDTH, HEIGHT, BYTES_PER_ROW, GLYPH_BYTES, GLYPH_COUNT (256)
and GLYPHS: one byte string, glyph after glyph, row after row, each row
BYTES_PER_ROW bytes with the leftmost pixel in the top bit.  Glyph c is the
one for the character code c read as Latin-1 (ASCII below 0x80):
  - when the font has a Unicode table, glyph c is the font's glyph for
    U+00cc (first match); codes the font has no glyph for (the C0 and C1
    controls, usually) get its U+FFFD glyph, else '?', else a blank glyph;
  - with --raw, or when the font has no table, glyph c is the font's glyph
    number c (the font's own order).
--notice copies a licence text (plain or .gz) into the header comment;
--notice-section keeps only the block that starts "== NAME" in it (the
layout of console-setup's copyright.fonts.gz).

Library use (the tests do this):
    parse_psf(data) -> Font (width, height, bytes_per_row, count, glyphs, table)
    latin1_glyphs(font, raw) -> bytes of 256 glyphs
    render_module(font, glyph_bytes, header_lines) -> the module's text
Malformed input raises PsfError.

File formats: kbd's doc/font-formats (PSF1: magic 36 04; PSF2: magic
72 b5 4a 86, little-endian 32-bit header fields).
"""

from __future__ import print_function

import argparse
import gzip
import hashlib
import io
import os
import sys

PSF1_MAGIC = b'\x36\x04'
PSF1_HEADER_SIZE = 4
PSF1_MODE_512 = 0x01
PSF1_MODE_HASTAB = 0x02
PSF1_MODE_HASSEQ = 0x04
PSF1_TABLE_SEPARATOR = 0xFFFF
PSF1_TABLE_SEQUENCE = 0xFFFE

PSF2_MAGIC = b'\x72\xb5\x4a\x86'
PSF2_HEADER_SIZE = 32
PSF2_HAS_UNICODE_TABLE = 0x01
PSF2_TABLE_SEPARATOR = 0xFF
PSF2_TABLE_SEQUENCE = 0xFE

GZIP_MAGIC = b'\x1f\x8b'
OUTPUT_GLYPHS = 256
REPLACEMENT_CHARACTER = 0xFFFD
QUESTION_MARK = 0x3F
C1_FIRST, C1_LAST = 0x80, 0x9F


class PsfError(Exception):
    """The input is not a PSF font this tool understands."""


class Font(object):
    def __init__(self, version, width, height, count, glyphs, table):
        self.version = version              # 1 or 2
        self.width = width
        self.height = height
        self.bytes_per_row = (width + 7) // 8
        self.glyph_bytes = self.bytes_per_row * height
        self.count = count
        self.glyphs = glyphs                # bytearray, count * glyph_bytes
        self.table = table                  # code point -> glyph index, or None

    def glyph(self, index):
        """Returns glyph index's bytes (a bytearray)."""
        start = index * self.glyph_bytes
        return self.glyphs[start:start + self.glyph_bytes]


def _u32(data, offset):
    return (data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16
            | data[offset + 3] << 24)


def maybe_gunzip(data):
    """Returns data decompressed when it starts with the gzip magic."""
    if bytes(data[:2]) == GZIP_MAGIC:
        return bytearray(gzip.GzipFile(fileobj=io.BytesIO(bytes(data))).read())
    return bytearray(data)


def _parse_psf1_table(data, offset, count):
    table = {}
    glyph = 0
    in_sequence = False
    while glyph < count:
        if offset + 2 > len(data):
            raise PsfError('PSF1 unicode table truncated at glyph %d' % glyph)
        value = data[offset] | data[offset + 1] << 8
        offset += 2
        if value == PSF1_TABLE_SEPARATOR:
            glyph += 1
            in_sequence = False
        elif value == PSF1_TABLE_SEQUENCE:
            in_sequence = True
        elif not in_sequence:
            table.setdefault(value, glyph)
    return table


def _utf8_decode_one(data, offset):
    """Returns (code point, next offset) of the UTF-8 sequence at offset."""
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    if first >= 0xF0:
        length, value = 4, first & 0x07
    elif first >= 0xE0:
        length, value = 3, first & 0x0F
    elif first >= 0xC0:
        length, value = 2, first & 0x1F
    else:
        raise PsfError('bad UTF-8 byte %#x in the PSF2 unicode table' % first)
    if offset + length > len(data):
        raise PsfError('PSF2 unicode table truncated')
    for i in range(1, length):
        value = (value << 6) | (data[offset + i] & 0x3F)
    return value, offset + length


def _parse_psf2_table(data, offset, count):
    table = {}
    glyph = 0
    in_sequence = False
    while glyph < count:
        if offset >= len(data):
            raise PsfError('PSF2 unicode table truncated at glyph %d' % glyph)
        byte = data[offset]
        if byte == PSF2_TABLE_SEPARATOR:
            glyph += 1
            in_sequence = False
            offset += 1
        elif byte == PSF2_TABLE_SEQUENCE:
            in_sequence = True
            offset += 1
        else:
            value, offset = _utf8_decode_one(data, offset)
            if not in_sequence:
                table.setdefault(value, glyph)
    return table


def parse_psf(data):
    """Returns the Font in data (PSF1 or PSF2, maybe gzipped); raises PsfError."""
    data = maybe_gunzip(data)
    if bytes(data[:2]) == PSF1_MAGIC:
        if len(data) < PSF1_HEADER_SIZE:
            raise PsfError('PSF1 header truncated')
        mode, height = data[2], data[3]
        count = 512 if mode & PSF1_MODE_512 else 256
        if height == 0:
            raise PsfError('PSF1 font of height 0')
        end = PSF1_HEADER_SIZE + count * height
        if len(data) < end:
            raise PsfError('PSF1 glyphs truncated')
        table = None
        if mode & (PSF1_MODE_HASTAB | PSF1_MODE_HASSEQ):
            table = _parse_psf1_table(data, end, count)
        return Font(1, 8, height, count, data[PSF1_HEADER_SIZE:end], table)
    if bytes(data[:4]) == PSF2_MAGIC:
        if len(data) < PSF2_HEADER_SIZE:
            raise PsfError('PSF2 header truncated')
        header_size = _u32(data, 8)
        flags = _u32(data, 12)
        count = _u32(data, 16)
        charsize = _u32(data, 20)
        height = _u32(data, 24)
        width = _u32(data, 28)
        if width == 0 or height == 0 or count == 0:
            raise PsfError('PSF2 font with an empty dimension')
        if charsize != height * ((width + 7) // 8):
            raise PsfError('PSF2 charsize %d does not match %dx%d' % (charsize, width, height))
        end = header_size + count * charsize
        if header_size < PSF2_HEADER_SIZE or len(data) < end:
            raise PsfError('PSF2 glyphs truncated')
        table = None
        if flags & PSF2_HAS_UNICODE_TABLE:
            table = _parse_psf2_table(data, end, count)
        return Font(2, width, height, count, data[header_size:end], table)
    raise PsfError('not a PSF1 or PSF2 font')


def latin1_glyphs(font, raw=False):
    """Returns bytes: OUTPUT_GLYPHS glyphs, glyph c being the one for the
    Latin-1 character c (see the module docstring for the rules)."""
    blank = bytearray(font.glyph_bytes)
    out = bytearray()
    if raw or font.table is None:
        for code in range(OUTPUT_GLYPHS):
            out += font.glyph(code) if code < font.count else blank
        return bytes(out)
    fallback = blank
    for candidate in (REPLACEMENT_CHARACTER, QUESTION_MARK):
        if candidate in font.table:
            fallback = font.glyph(font.table[candidate])
            break
    for code in range(OUTPUT_GLYPHS):
        index = font.table.get(code)
        out += font.glyph(index) if index is not None else fallback
    return bytes(out)


def _char_comment(code):
    if 0x20 <= code < 0x7F:
        return repr(chr(code))
    if 0xA0 <= code:
        return 'U+%04X' % code
    return 'control'


def render_module(font, glyph_bytes, header_lines):
    """Returns the text (ASCII, a native str) of the font module."""
    glyph_bytes = bytearray(glyph_bytes)
    lines = ['# ' + line if line else '#' for line in header_lines]
    lines.append('"""The console font: %d glyphs of %dx%d pixels, one per character code'
                 % (OUTPUT_GLYPHS, font.width, font.height))
    lines.append("(Latin-1, unless 'Glyph order' above says otherwise).")
    lines.append('')
    lines.append('    GLYPHS[(c * GLYPH_BYTES) + row * BYTES_PER_ROW + k]: byte k of pixel')
    lines.append('    row `row` of character code c; the top bit is the leftmost pixel.')
    lines.append('Generated by tools/psf2py.py; do not edit.')
    lines.append('"""')
    lines.append('')
    lines.append('WIDTH = %d' % font.width)
    lines.append('HEIGHT = %d' % font.height)
    lines.append('BYTES_PER_ROW = %d' % font.bytes_per_row)
    lines.append('GLYPH_BYTES = %d' % font.glyph_bytes)
    lines.append('GLYPH_COUNT = %d' % OUTPUT_GLYPHS)
    lines.append('')
    lines.append('GLYPHS = (')
    size = font.glyph_bytes
    for code in range(OUTPUT_GLYPHS):
        chunk = glyph_bytes[code * size:(code + 1) * size]
        literal = ''.join('\\x%02x' % b for b in chunk)
        lines.append("    b'%s'  # %#04x %s" % (literal, code, _char_comment(code)))
    lines.append(')')
    lines.append('')
    return '\n'.join(lines)


def _ascii(text):
    text = text.replace(u'\u00a9', u'(C)')
    return text.encode('ascii', 'replace').decode('ascii')


def read_notice(path, section):
    """Returns the notice lines of path (plain or .gz), only the "== section"
    block when section is given; raises PsfError when that block is absent."""
    with open(path, 'rb') as f:
        text = bytes(maybe_gunzip(f.read())).decode('utf-8', 'replace')
    lines = [_ascii(line.rstrip()) for line in text.splitlines()]
    if section is None:
        return lines
    kept = None
    for line in lines:
        if line.startswith('=='):
            if kept is not None:
                break
            if section in line[2:].replace(',', ' ').split():
                kept = [line]
        elif kept is not None:
            kept.append(line)
    if kept is None:
        raise PsfError('no "== %s" section in %s' % (section, path))
    while kept and not kept[-1]:
        kept.pop()
    return kept


def main(argv=None):
    parser = argparse.ArgumentParser(description='PSF font -> elyz/console/font_data.py')
    parser.add_argument('font', help='a .psf, .psfu or .psf.gz file')
    parser.add_argument('-o', '--output', default=None,
                        help='module to write (default: standard output)')
    parser.add_argument('--raw', action='store_true',
                        help="ignore the unicode table: glyph c is the font's glyph number c")
    parser.add_argument('--package', default=None,
                        help='where the font file came from, for the header')
    parser.add_argument('--notice', default=None, help='licence text to copy into the header')
    parser.add_argument('--notice-section', default=None,
                        help='only the "== NAME" block of the notice file')
    args = parser.parse_args(argv)

    with open(args.font, 'rb') as f:
        data = maybe_gunzip(f.read())
    try:
        font = parse_psf(data)
        notice = read_notice(args.notice, args.notice_section) if args.notice else []
    except PsfError as e:
        print('psf2py: %s: %s' % (args.font, e), file=sys.stderr)
        return 1
    glyphs = latin1_glyphs(font, args.raw)

    command = ['python', 'tools/psf2py.py', args.font]
    if args.raw:
        command.append('--raw')
    if args.package:
        command += ['--package', "'%s'" % args.package]
    if args.notice:
        command += ['--notice', args.notice]
    if args.notice_section:
        command += ['--notice-section', args.notice_section]
    command += ['-o', 'elyz/console/font_data.py']
    header = [
        'Generated by tools/psf2py.py -- do not edit by hand.',
        'Source: %s (PSF%d, %dx%d, %d glyphs%s)' % (
            os.path.basename(args.font), font.version, font.width, font.height,
            font.count, ', unicode table' if font.table is not None else ''),
        'Source path: %s' % args.font,
    ]
    if args.package:
        header.append('Package: %s' % args.package)
    header += [
        'Source sha256 (uncompressed): %s' % hashlib.sha256(bytes(data)).hexdigest(),
        'Glyph order: %s' % ("the font's own (raw)" if args.raw or font.table is None
                             else 'Latin-1, through the unicode table'),
        'Regenerate with:',
        '    ' + ' '.join(command),
    ]
    if notice:
        header += ['', 'Licence of the font:', ''] + ['    ' + line if line else ''
                                                       for line in notice]
    header.append('')
    text = render_module(font, glyphs, header)
    if args.output:
        with open(args.output, 'wb') as f:
            f.write(text.encode('ascii'))
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
