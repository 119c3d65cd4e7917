"""From a boot protocol's information to the BootInfo structure.

    read_boot_info(protocol, info, hhdm_offset, boot_info) -> 0 or an error code
        dispatches to elyz/boot/{limine,multiboot2,pvh,devicetree}.py, then
        reserves the kernel image in the memory map (GRUB and QEMU report it
        as free RAM).  For PROTOCOL_DEVICETREE, info is the blob's physical
        address, read at info + hhdm_offset.  For PROTOCOL_LIMINE, info is
        the request table; on aarch64 and riscv64 the devices then come from
        the device tree Limine passes on (devicetree.parse_devices), and a
        non-zero hhdm_offset is where the boot stub made Limine's HHDM
        visible as well: the kernel's direct map moves there (aarch64, whose
        Limine HHDM 0xffff000000000000 is root entry 0, the half the kernel
        does not own: arch/aarch64/boot.c).
    print_banner(info, arch_name)
        the first kernel line: Elyz <version> (<arch>, boot: <protocol>)
    log_summary(boot_info)
        bootloader, command line, memory map summary, framebuffer mode, and
        the UART and interrupt controller a device tree named.
"""

from elyz.boot import bootinfo, devicetree, layout, limine, memmap, multiboot2, pvh
from elyz.boot import errors as boot_errors
from elyz import version
from elyz.lib import log
from elyz.rlib_kernel import image
from elyz.rlib_kernel.karch import KARCH

E_UNKNOWN_PROTOCOL = -100
E_NO_DEVICE_TREE = -101
MIB = 1024 * 1024


def read_boot_info(protocol, info, hhdm_offset, boot_info):
    """Fills boot_info from the protocol's data; returns 0, or a negative
    error code when the protocol is unknown or its data is unusable."""
    if protocol == bootinfo.PROTOCOL_LIMINE:
        status = limine.parse_limine_table(info, boot_info)
        if status == 0 and KARCH != 'x86_64':
            status = _limine_port_devices(boot_info, hhdm_offset)
    elif protocol == bootinfo.PROTOCOL_MULTIBOOT2:
        status = multiboot2.parse_multiboot2(info, hhdm_offset, boot_info)
    elif protocol == bootinfo.PROTOCOL_PVH:
        status = pvh.parse_pvh(info, hhdm_offset, boot_info)
    elif protocol == bootinfo.PROTOCOL_DEVICETREE:
        status = devicetree.parse_devicetree(info + hhdm_offset, info, hhdm_offset, boot_info)
    else:
        boot_info.reset()
        return E_UNKNOWN_PROTOCOL
    if status != 0:
        return status
    if protocol != bootinfo.PROTOCOL_LIMINE:
        # The x86_64 load address of the 32-bit paths.  A device tree says
        # nothing about the kernel image: a port that boots with one (aarch64,
        # riscv64, loongarch64) sets its own layout here.
        boot_info.kernel_phys_base = layout.KERNEL_PHYS_BASE
        boot_info.kernel_virt_base = layout.KERNEL_VIRT_BASE
    image_size = image.kernel_end() - image.kernel_start()
    memmap.reserve_range(boot_info, boot_info.kernel_phys_base, image_size,
                         bootinfo.MEM_KERNEL_AND_MODULES)
    return 0


def _limine_port_devices(boot_info, direct_map):
    """Limine on a port: reads the devices from the device tree Limine
    handed over, then moves the direct map to direct_map when it is not 0
    (see read_boot_info).  Returns 0, E_NO_DEVICE_TREE without one (Limine
    answers the DTB request only under UEFI), or the parser's error."""
    if boot_info.dtb_phys == 0:
        return E_NO_DEVICE_TREE
    status = devicetree.parse_devices(boot_info.dtb_phys + boot_info.hhdm_offset, boot_info)
    if status != 0:
        return status
    if direct_map != 0 and direct_map != boot_info.hhdm_offset:
        boot_info.move_direct_map(direct_map)
    return 0


def print_banner(info, arch_name):
    """Prints the first kernel line, the same on every architecture:
    Elyz <version> (<arch_name>, boot: <protocol>); returns nothing."""
    log.begin(log.INFO)
    log.put('Elyz ')
    log.put(version.VERSION)
    log.put(' (')
    log.put(arch_name)
    log.put(', boot: ')
    log.put(info.protocol_name())
    log.put(')')
    log.end()


def error_name(code):
    """Returns a constant string naming a read_boot_info error code."""
    if code == E_UNKNOWN_PROTOCOL:
        return 'unknown boot protocol'
    if code == E_NO_DEVICE_TREE:
        return 'no device tree from the bootloader'
    return boot_errors.error_name(code)


def log_summary(boot_info):
    """Logs what the kernel was given; returns nothing."""
    if boot_info.bootloader_len > 0:
        log.begin(log.INFO)
        log.put('bootloader: ')
        for i in range(boot_info.bootloader_len):
            log.put_char(boot_info.bootloader[i])
        log.end()
    log.begin(log.INFO)
    log.put('command line: ')
    for i in range(boot_info.cmdline_len):
        log.put_char(boot_info.cmdline[i])
    log.end()
    log_memory_map(boot_info)
    log_framebuffer(boot_info)
    log_devices(boot_info)


def log_memory_map(boot_info):
    """Logs one line per memory map entry (debug level) and a summary."""
    counts = 0
    for i in range(boot_info.memmap_count):
        base = boot_info.memmap_base[i]
        length = boot_info.memmap_length[i]
        mem_type = boot_info.memmap_type[i]
        log.begin(log.DEBUG)
        log.put('  ')
        log.put_hex(base, 9)
        log.put('-')
        log.put_hex(base + length - 1, 9)
        log.put(' ')
        if 0 <= mem_type < len(bootinfo.MEM_TYPE_NAMES):
            log.put(bootinfo.MEM_TYPE_NAMES[mem_type])
        else:
            log.put('type ')
            log.put_int(mem_type)
        log.end()
        counts += 1
    log.begin(log.INFO)
    log.put('memory: ')
    log.put_int(memmap.total_usable_bytes(boot_info) // MIB)
    log.put(' MiB usable in ')
    log.put_int(counts)
    log.put(' map entries, top of RAM ')
    log.put_hex(memmap.usable_top(boot_info))
    if boot_info.memmap_dropped > 0:
        log.put(', ')
        log.put_int(boot_info.memmap_dropped)
        log.put(' entries dropped (table full)')
    log.end()


def log_framebuffer(boot_info):
    """Logs the framebuffer mode, or that there is none."""
    log.begin(log.INFO)
    if boot_info.fb_present:
        log.put('framebuffer: ')
        log.put_int(boot_info.fb_width)
        log.put('x')
        log.put_int(boot_info.fb_height)
        log.put(', ')
        log.put_int(boot_info.fb_bpp)
        log.put(' bpp, pitch ')
        log.put_int(boot_info.fb_pitch)
        log.put(' at ')
        log.put_hex(boot_info.fb_address)
    else:
        log.put('no framebuffer')
    log.end()


def log_devices(boot_info):
    """Logs the console UART and the interrupt controller, when the boot
    protocol (a device tree) named them; returns nothing."""
    if 0 < boot_info.uart_kind < len(bootinfo.UART_NAMES):
        log.begin(log.INFO)
        log.put('uart: ')
        log.put(bootinfo.UART_NAMES[boot_info.uart_kind])
        log.put(' at ')
        log.put_hex(boot_info.uart_base)
        if boot_info.uart_clock > 0:
            log.put(', clock ')
            log.put_int(boot_info.uart_clock)
            log.put(' Hz')
        log.end()
    if 0 < boot_info.intc_kind < len(bootinfo.INTC_NAMES):
        log.begin(log.INFO)
        log.put('interrupt controller: ')
        log.put(bootinfo.INTC_NAMES[boot_info.intc_kind])
        log.put(' at ')
        log.put_hex(boot_info.intc_base0)
        if boot_info.intc_base1 != 0:
            log.put(', ')
            log.put_hex(boot_info.intc_base1)
        log.end()
