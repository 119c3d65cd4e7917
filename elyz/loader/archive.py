"""The boot archive: the user programs, in ONE boot module that is a cpio
archive in the "newc" (new portable ASCII) format.

Format references: the cpio(5) manual page of libarchive, section "New
ASCII Format", and the Linux kernel's
Documentation/driver-api/early-userspace/buffer-format.rst (the initramfs
format, which is this one).  The archive is a sequence of entries, each
starting at a multiple of 4 bytes from the archive's start:

    offset  size  field (ASCII; each number is 8 hexadecimal digits, no NUL)
        0     6   c_magic      "070701"
        6     8   c_ino
       14     8   c_mode       file type (the S_IFMT bits) and permissions
       22     8   c_uid
       30     8   c_gid
       38     8   c_nlink
       46     8   c_mtime
       54     8   c_filesize   bytes of data
       62     8   c_devmajor
       70     8   c_devminor
       78     8   c_rdevmajor
       86     8   c_rdevminor
       94     8   c_namesize   bytes of the name, its NUL included
      102     8   c_check      0 here (the "070702" CRC variant's checksum)
      110         the name, NUL-terminated, then NULs up to a multiple of 4
                  bytes (of header plus name); then the data, c_filesize
                  bytes, then padding up to a multiple of 4
The entry named "TRAILER!!!" ends the archive; whatever follows it (cpio
pads archives to 512-byte blocks) is ignored.

What this reader accepts, a little stricter than the writers need:
    - the magic "070701" exactly (the "070702" CRC variant and the old
      binary and odc formats are refused);
    - each of the 13 numeric fields is 8 hex digits, 0-9 a-f A-F (so every
      number is below 2**32: offsets cannot overflow a word);
    - c_namesize >= 2 (a name of at least one byte), its last byte NUL and
      no NUL before it;
    - the whole entry, both paddings included, lies inside the archive, the
      trailer's too: an archive that ends before the end of its trailer is
      malformed.  The padding bytes themselves are not checked.
Names are compared byte for byte as stored: an archive made with
`find . | cpio -o -H newc` stores "./init", one made from `ls` stores
"init".  Entries of every type are reported, with their mode (directories,
symbolic links whose data is the target, devices); `is_regular(mode)` says
whether it is a regular file.  With hard links newc stores the data once,
with the last link; the earlier links have size 0.

API (base: the kernel virtual address of the archive; length: its size in
bytes.  [base, base + length) must be readable; nothing outside it is ever
read, whatever the bytes say):

    next_entry(base, length, offset, out) -> the offset of the following
        entry (> offset), after filling out (an Entry) with the entry whose
        header is at offset; 0 when the entry at offset is the trailer (out
        untouched); E_INVALID when length < 0 or offset is not a multiple
        of 4 in [0, length]; E_MALFORMED when the entry breaks a rule above.
        Iterate from offset 0 until it returns 0 (the end) or an error.
    find(base, length, name, out) -> 0 after filling out with the first
        entry called name (a string without NUL, compared byte for byte);
        E_NOENT when the trailer comes first; E_INVALID for length < 0;
        E_MALFORMED when an entry before it (or it) is malformed.  out's
        contents mean nothing unless it returns 0.
    count(base, length, scratch) -> the number of entries before the
        trailer, after checking every one of them (scratch: an Entry it
        overwrites); E_INVALID or E_MALFORMED as above
    is_regular(mode) -> True when mode (an Entry's) is a regular file's

Nothing allocates: results go to an Entry the caller prebuilt.
"""

from elyz.abi.errors import E_INVALID, E_MALFORMED, E_NOENT
from elyz.rlib_kernel import rawmem

MAGIC = '070701'            # cpio(5) newc: c_magic
MAGIC_SIZE = 6
FIELD_SIZE = 8              # cpio(5) newc: every number is 8 hex digits
FIELD_COUNT = 13            # cpio(5) newc: c_ino .. c_check
HEADER_SIZE = MAGIC_SIZE + FIELD_COUNT * FIELD_SIZE     # 110
ALIGN = 4                   # cpio(5) newc: header+name and data padded to 4
TRAILER = 'TRAILER!!!'      # cpio(5): the name of the entry ending the archive

# Index of each field used here, among the 13 (cpio(5) newc field order).
FIELD_MODE = 1              # c_mode
FIELD_FILESIZE = 6          # c_filesize
FIELD_NAMESIZE = 11         # c_namesize

MIN_NAMESIZE = 2            # one byte of name and its NUL

# File types in c_mode (cpio(5): the values of <sys/stat.h>).
S_IFMT = 0o170000
S_IFREG = 0o100000
S_IFDIR = 0o040000
S_IFLNK = 0o120000

_ASCII_0 = 0x30
_ASCII_9 = 0x39
_ASCII_LOWER_A = 0x61
_ASCII_LOWER_F = 0x66
_ASCII_UPPER_A = 0x41
_ASCII_UPPER_F = 0x46


class Entry(object):
    """One archive entry, as next_entry() and find() report it."""

    def __init__(self):
        self.offset = 0          # of its header, from the archive's start
        self.name = 0            # address of the name's first byte
        self.name_length = 0     # bytes of the name, without its NUL
        self.data = 0            # address of the data
        self.size = 0            # bytes of data
        self.mode = 0            # c_mode: S_IFMT type bits and permissions
        self.next = 0            # offset of the following entry's header


def is_regular(mode):
    """Returns True when mode (c_mode) is that of a regular file."""
    return (mode & S_IFMT) == S_IFREG


def _hex_digit(c):
    """Returns the value of the ASCII hex digit c, or -1."""
    if c >= _ASCII_0 and c <= _ASCII_9:
        return c - _ASCII_0
    if c >= _ASCII_LOWER_A and c <= _ASCII_LOWER_F:
        return c - _ASCII_LOWER_A + 10
    if c >= _ASCII_UPPER_A and c <= _ASCII_UPPER_F:
        return c - _ASCII_UPPER_A + 10
    return -1


def _hex_field(addr):
    """Returns the number written in the FIELD_SIZE hex digits at addr (in
    [0, 2**32)), or -1 when one of them is not a hex digit."""
    value = 0
    i = 0
    while i < FIELD_SIZE:
        digit = _hex_digit(rawmem.load_u8(addr + i))
        if digit < 0:
            return -1
        value = value * 16 + digit
        i += 1
    return value


def _matches(addr, length, text):
    """Returns True when the length bytes at addr are those of text."""
    if length != len(text):
        return False
    i = 0
    while i < length:
        if rawmem.load_u8(addr + i) != ord(text[i]):
            return False
        i += 1
    return True


def _padding(end):
    """Returns the bytes of padding after offset end (>= 0) up to ALIGN."""
    return (-end) & (ALIGN - 1)


def next_entry(base, length, offset, out):
    """Returns the offset of the entry after the one at offset, having
    filled out; 0 at the trailer; E_INVALID or E_MALFORMED (see the module
    docstring).  Every bound is checked as a difference from length, so no
    sum can overflow."""
    if length < 0 or offset < 0 or offset > length or (offset & (ALIGN - 1)) != 0:
        return E_INVALID
    if length - offset < HEADER_SIZE:
        return E_MALFORMED
    header = base + offset
    if not _matches(header, MAGIC_SIZE, MAGIC):
        return E_MALFORMED
    mode = 0
    size = 0
    namesize = 0
    i = 0
    while i < FIELD_COUNT:
        value = _hex_field(header + MAGIC_SIZE + i * FIELD_SIZE)
        if value < 0:
            return E_MALFORMED
        if i == FIELD_MODE:
            mode = value
        elif i == FIELD_FILESIZE:
            size = value
        elif i == FIELD_NAMESIZE:
            namesize = value
        i += 1
    name_offset = offset + HEADER_SIZE
    if namesize < MIN_NAMESIZE or namesize > length - name_offset:
        return E_MALFORMED
    name = base + name_offset
    name_length = namesize - 1
    j = 0
    while j < name_length:
        if rawmem.load_u8(name + j) == 0:
            return E_MALFORMED
        j += 1
    if rawmem.load_u8(name + name_length) != 0:
        return E_MALFORMED
    name_end = name_offset + namesize
    padding = _padding(name_end)
    if padding > length - name_end:
        return E_MALFORMED
    data_offset = name_end + padding
    if size > length - data_offset:
        return E_MALFORMED
    data_end = data_offset + size
    padding = _padding(data_end)
    if padding > length - data_end:
        return E_MALFORMED
    if _matches(name, name_length, TRAILER):
        return 0
    out.offset = offset
    out.name = name
    out.name_length = name_length
    out.data = base + data_offset
    out.size = size
    out.mode = mode
    out.next = data_end + padding
    return out.next


def find(base, length, name, out):
    """Returns 0 with out filled with the first entry called name; E_NOENT,
    E_INVALID or E_MALFORMED (see the module docstring)."""
    if length < 0:
        return E_INVALID
    offset = 0
    while True:
        following = next_entry(base, length, offset, out)
        if following == 0:
            return E_NOENT
        if following < 0:
            return following
        if _matches(out.name, out.name_length, name):
            return 0
        offset = following


def count(base, length, scratch):
    """Returns the number of entries before the trailer, every one checked;
    E_INVALID or E_MALFORMED (see the module docstring).  scratch is an
    Entry it overwrites."""
    if length < 0:
        return E_INVALID
    entries = 0
    offset = 0
    while True:
        following = next_entry(base, length, offset, scratch)
        if following == 0:
            return entries
        if following < 0:
            return following
        entries += 1
        offset = following
