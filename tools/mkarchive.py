"""Packs files into a cpio "newc" archive (the boot archive of the user
programs; the format of cpio(5), "New ASCII Format": magic 070701, 13
eight-digit hex fields, the name with its NUL padded to 4, the data padded
to 4, a last entry named TRAILER!!!).

    python tools/mkarchive.py OUTPUT NAME=FILE [NAME=FILE ...]

Writes OUTPUT only when its contents change (so make sees no news).  The
kernel reads it with elyz/loader/archive.py.
"""

from __future__ import print_function

import os
import sys

MODE_REGULAR = 0o100644
MODE_EXECUTABLE = 0o100755
TRAILER = 'TRAILER!!!'


def _pad4(data):
    return data + b'\0' * (-len(data) % 4)


def entry(name, data, mode, inode):
    """Returns the bytes of one newc entry."""
    name_bytes = name.encode('ascii') + b'\0'
    fields = [inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0]
    header = b'070701' + b''.join(('%08x' % f).encode('ascii') for f in fields)
    return _pad4(header + name_bytes) + _pad4(data)


def archive(files):
    """Returns the archive of [(name, data, mode)], trailer included."""
    out = b''
    for inode, (name, data, mode) in enumerate(files, 1):
        out += entry(name, data, mode, inode)
    return out + entry(TRAILER, b'', 0, 0)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    files = []
    for spec in argv[2:]:
        name, _, path = spec.partition('=')
        with open(path, 'rb') as f:
            data = f.read()
        mode = MODE_EXECUTABLE if os.access(path, os.X_OK) else MODE_REGULAR
        files.append((name, data, mode))
    data = archive(files)
    if os.path.exists(argv[1]):
        with open(argv[1], 'rb') as f:
            if f.read() == data:
                return 0
    with open(argv[1], 'wb') as f:
        f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
