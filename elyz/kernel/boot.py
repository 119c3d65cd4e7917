"""From a boot protocol's information to the BootInfo structure.

    read_boot_info(protocol, info, hhdm_offset, boot_info) -> 0 or an error code
    log_summary(boot_info)   memory map summary and framebuffer mode
"""

from elyz.boot import bootinfo
from elyz.kernel import log
from elyz.rlib_kernel import rawmem

E_UNKNOWN_PROTOCOL = -100
PVH_MAGIC = 0x336EC578


def read_boot_info(protocol, info, hhdm_offset, boot_info):
    boot_info.reset()
    boot_info.hhdm_offset = hhdm_offset
    if protocol == bootinfo.PROTOCOL_PVH:
        boot_info.protocol = protocol
        start = info + hhdm_offset
        if rawmem.load_u32(start) != PVH_MAGIC:
            return -1
        cmdline = rawmem.load_u64(start + 24)
        if cmdline != 0:
            boot_info.set_cmdline_from(cmdline + hhdm_offset, bootinfo.MAX_CMDLINE)
        return 0
    if protocol == bootinfo.PROTOCOL_MULTIBOOT2 or protocol == bootinfo.PROTOCOL_LIMINE:
        boot_info.protocol = protocol
        return 0
    return E_UNKNOWN_PROTOCOL


def log_summary(boot_info):
    log.begin(log.INFO)
    log.put('command line: ')
    for i in range(boot_info.cmdline_len):
        log.put_char(boot_info.cmdline[i])
    log.end()
