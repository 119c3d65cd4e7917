"""tools/mkarchive.py writes what the kernel's archive reader accepts."""

import os

from elyz.loader import archive
from elyz.rlib_kernel import rawmem
from tests.loader.images import place
from tools import mkarchive


def test_the_kernel_reads_back_every_file_mkarchive_packed(tmpdir):
    one = tmpdir.join('one')
    one.write_binary(b'\x7fELF' + b'x' * 1001)
    os.chmod(str(one), 0o755)
    two = tmpdir.join('two.txt')
    two.write_binary(b'')
    out = tmpdir.join('boot.cpio')
    assert mkarchive.main(['mkarchive', str(out), 'elyz-user=%s' % one, 'notes=%s' % two]) == 0
    data = out.read_binary()
    base = place(data)
    entry = archive.Entry()
    assert archive.find(base, len(data), 'elyz-user', entry) == 0
    assert entry.size == 1005 and archive.is_regular(entry.mode)
    assert ''.join(chr(rawmem.load_u8(entry.data + i)) for i in range(4)) == '\x7fELF'
    assert archive.find(base, len(data), 'notes', entry) == 0 and entry.size == 0
    assert archive.count(base, len(data), archive.Entry()) == 2


def test_an_unchanged_archive_is_not_rewritten(tmpdir):
    src = tmpdir.join('f')
    src.write_binary(b'abc')
    out = tmpdir.join('a.cpio')
    mkarchive.main(['mkarchive', str(out), 'f=%s' % src])
    os.utime(str(out), (1, 1))
    mkarchive.main(['mkarchive', str(out), 'f=%s' % src])
    assert os.stat(str(out)).st_mtime == 1
