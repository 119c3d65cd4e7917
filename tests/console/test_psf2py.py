import gzip
import imp
import io
import os
import struct
import subprocess
import sys
from distutils.spawn import find_executable

import pytest

from elyz.console import font_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, 'tools', 'psf2py.py')
psf2py = imp.load_source('psf2py', TOOL)

SYSTEM_FONT = '/usr/share/consolefonts/Lat15-VGA16.psf.gz'
SYSTEM_NOTICE = '/usr/share/doc/keyboard-configuration/copyright.fonts.gz'


# -------------------------------------------------------- hand-made fonts

PSF1_HEIGHT = 4
PSF1_E_ACUTE_GLYPH = 0x82
PSF1_REPLACEMENT_GLYPH = 0x01
PSF1_SECOND_A_GLYPH = 0x90


def psf1_glyph(i):
    return bytearray([i, i ^ 0xFF, (i * 7) & 0xFF, 0x5A])


def make_psf1():
    """256 glyphs of 8x4; a unicode table maps ASCII to itself, U+00E9 to
    glyph 0x82, U+FFFD to glyph 1, and 'A' a second time to glyph 0x90."""
    data = bytearray(b'\x36\x04') + bytearray([0x02, PSF1_HEIGHT])
    for i in range(256):
        data += psf1_glyph(i)
    for i in range(256):
        codes = []
        if 0x20 <= i < 0x7F:
            codes.append(i)
        if i == PSF1_E_ACUTE_GLYPH:
            codes += [0xE9, 0xFFFE, 0x65, 0x301]   # then a sequence: e + combining acute
        if i == PSF1_REPLACEMENT_GLYPH:
            codes.append(0xFFFD)
        if i == PSF1_SECOND_A_GLYPH:
            codes.append(0x41)
        for code in codes + [0xFFFF]:
            data += struct.pack('<H', code)
    return data


PSF2_WIDTH = 10
PSF2_HEIGHT = 3
PSF2_COUNT = 300
PSF2_A_GLYPH = 5
PSF2_QUESTION_GLYPH = 7
PSF2_E_ACUTE_GLYPH = 299


def psf2_glyph(i):
    out = bytearray()
    for row in range(PSF2_HEIGHT):
        out += bytearray([(i + row) & 0xFF, (i >> 8) << 6 | 0x3F & row])
    return out


def make_psf2():
    """300 glyphs of 10x3 (two bytes a row) and a UTF-8 unicode table:
    'A' -> 5, '?' -> 7, U+00E9 -> 299, U+2603 plus a sequence -> 8."""
    charsize = PSF2_HEIGHT * 2
    header = struct.pack('<8I', 0x864AB572, 0, 32, 1, PSF2_COUNT, charsize,
                         PSF2_HEIGHT, PSF2_WIDTH)
    data = bytearray(header)
    for i in range(PSF2_COUNT):
        data += psf2_glyph(i)
    for i in range(PSF2_COUNT):
        if i == PSF2_A_GLYPH:
            data += b'A'
        elif i == PSF2_QUESTION_GLYPH:
            data += b'?'
        elif i == PSF2_E_ACUTE_GLYPH:
            data += b'\xc3\xa9'
        elif i == 8:
            data += b'\xe2\x98\x83\xfe' + b'e\xcc\x81'
        data += b'\xff'
    return data


def load_module(text):
    namespace = {}
    exec(compile(text, 'font_data', 'exec'), namespace)
    return namespace


def glyph_of(module, code):
    size = module['GLYPH_BYTES']
    return bytearray(module['GLYPHS'][code * size:(code + 1) * size])


def test_psf1_round_trip_through_the_unicode_table():
    font = psf2py.parse_psf(make_psf1())
    assert (font.version, font.width, font.height, font.count) == (1, 8, PSF1_HEIGHT, 256)
    text = psf2py.render_module(font, psf2py.latin1_glyphs(font), ['a header'])
    module = load_module(text)
    assert (module['WIDTH'], module['HEIGHT'], module['BYTES_PER_ROW']) == (8, 4, 1)
    assert (module['GLYPH_BYTES'], module['GLYPH_COUNT']) == (4, 256)
    assert len(module['GLYPHS']) == 256 * 4
    assert isinstance(module['GLYPHS'], bytes)
    for code in range(0x20, 0x7F):
        assert glyph_of(module, code) == psf1_glyph(code)      # first 'A' wins too
    assert glyph_of(module, 0xE9) == psf1_glyph(PSF1_E_ACUTE_GLYPH)
    for code in [0x00, 0x0A, 0x7F, 0x80, 0x9F, 0xE8]:       # no glyph: U+FFFD's
        assert glyph_of(module, code) == psf1_glyph(PSF1_REPLACEMENT_GLYPH)
    assert text.startswith('# a header\n')


def test_psf1_raw_order_and_gzip():
    raw = make_psf1()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode='wb') as f:
        f.write(bytes(raw))
    font = psf2py.parse_psf(bytearray(buf.getvalue()))
    module = load_module(psf2py.render_module(font, psf2py.latin1_glyphs(font, raw=True), []))
    for code in range(256):
        assert glyph_of(module, code) == psf1_glyph(code)


def test_psf2_round_trip_with_wide_glyphs():
    font = psf2py.parse_psf(make_psf2())
    assert (font.version, font.width, font.height, font.count) == (2, 10, 3, 300)
    module = load_module(psf2py.render_module(font, psf2py.latin1_glyphs(font), []))
    assert (module['WIDTH'], module['HEIGHT'], module['BYTES_PER_ROW']) == (10, 3, 2)
    assert module['GLYPH_BYTES'] == 6
    assert len(module['GLYPHS']) == 256 * 6
    assert glyph_of(module, ord('A')) == psf2_glyph(PSF2_A_GLYPH)
    assert glyph_of(module, 0xE9) == psf2_glyph(PSF2_E_ACUTE_GLYPH)
    for code in [ord('B'), ord('e'), 0x00]:                 # no U+FFFD: '?' instead
        assert glyph_of(module, code) == psf2_glyph(PSF2_QUESTION_GLYPH)


def test_malformed_fonts_are_refused():
    with pytest.raises(psf2py.PsfError):
        psf2py.parse_psf(bytearray(b'not a font at all'))
    with pytest.raises(psf2py.PsfError):
        psf2py.parse_psf(make_psf1()[:100])
    bad_charsize = make_psf2()
    bad_charsize[20] = 7
    with pytest.raises(psf2py.PsfError):
        psf2py.parse_psf(bad_charsize)


def tool_runners():
    runners = [sys.executable]
    python3 = find_executable('python3')
    if python3:
        runners.append(python3)
    return runners


@pytest.mark.parametrize('python', tool_runners())
def test_the_command_line_writes_the_same_module_under_python2_and_3(python, tmpdir):
    font_path = str(tmpdir.join('tiny.psf'))
    with open(font_path, 'wb') as f:
        f.write(bytes(make_psf1()))
    out = str(tmpdir.join('out.py'))
    subprocess.check_call([python, TOOL, font_path, '--package', 'hand-made', '-o', out])
    with open(out, 'rb') as f:
        text = f.read().decode('ascii')
    font = psf2py.parse_psf(make_psf1())
    module = load_module(text)
    assert bytearray(module['GLYPHS']) == bytearray(psf2py.latin1_glyphs(font))
    assert '# Source: tiny.psf (PSF1, 8x4, 256 glyphs, unicode table)' in text
    assert '# Package: hand-made' in text
    assert '# Regenerate with:' in text


# ---------------------------------------------------- the checked-in font

def test_checked_in_font_is_8x16_with_256_glyphs():
    assert (font_data.WIDTH, font_data.HEIGHT, font_data.BYTES_PER_ROW) == (8, 16, 1)
    assert len(font_data.GLYPHS) == font_data.GLYPH_COUNT * font_data.GLYPH_BYTES == 4096
    a = font_data.GLYPHS[ord('A') * 16:ord('B') * 16]
    space = font_data.GLYPHS[ord(' ') * 16:ord('!') * 16]
    assert a.strip('\x00') and not space.strip('\x00')


def test_checked_in_font_names_its_source_and_licence():
    path = os.path.join(ROOT, 'elyz', 'console', 'font_data.py')
    with open(path) as f:
        header = f.read(4000)
    assert 'Lat15-VGA16.psf.gz' in header
    assert 'Regenerate with:' in header
    assert 'Permission is hereby granted' in header


@pytest.mark.skipif(not os.path.exists(SYSTEM_FONT) or not os.path.exists(SYSTEM_NOTICE),
                    reason='console-setup-linux is not installed')
def test_checked_in_font_regenerates_identically(tmpdir):
    import hashlib
    with open(SYSTEM_FONT, 'rb') as f:
        digest = hashlib.sha256(bytes(psf2py.maybe_gunzip(f.read()))).hexdigest()
    with open(os.path.join(ROOT, 'elyz', 'console', 'font_data.py')) as f:
        if digest not in f.read(4000):
            pytest.skip('the installed font is not the one font_data.py was made from')
    out = str(tmpdir.join('font_data.py'))
    subprocess.check_call([sys.executable, TOOL, SYSTEM_FONT,
                           '--package', 'Debian console-setup-linux 1.221',
                           '--notice', SYSTEM_NOTICE, '--notice-section', 'u_vga16.bdf',
                           '-o', out])
    with open(out, 'rb') as f:
        regenerated = f.read()
    with open(os.path.join(ROOT, 'elyz', 'console', 'font_data.py'), 'rb') as f:
        assert f.read() == regenerated
