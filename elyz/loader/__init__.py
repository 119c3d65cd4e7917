"""Loading programs: what the kernel needs before a user process exists.

(Named loader, not exec: `exec` is a keyword of Python 2, so a package of
that name could not be imported.)

    archive   the boot archive (one boot module, newc cpio): find a program
              by name, iterate the entries
    elf       the ELF64 executable check and load plan: the PT_LOAD segments
              of an image, validated, and what to copy into each page

Both are pure arithmetic over a range of kernel-visible memory read with
elyz/rlib_kernel/rawmem.py: they never read outside that range, allocate
nothing (results go into records the caller prebuilt) and return a negative
code of elyz/abi/errors.py when they refuse.
"""
