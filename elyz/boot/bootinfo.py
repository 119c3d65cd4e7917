"""The one boot-info structure.

Every boot protocol (Limine, Multiboot2, PVH, a flattened device tree) is
turned into a BootInfo
before kmain sees it.  It is a prebuilt object with fixed-size arrays, so
filling it allocates nothing.

    BootInfo fields
      protocol            PROTOCOL_LIMINE | PROTOCOL_MULTIBOOT2 | PROTOCOL_PVH |
                          PROTOCOL_DEVICETREE
      bootloader          name of the bootloader (bytes in a fixed buffer, see name())
      hhdm_offset         virtual = physical + hhdm_offset for all RAM
      kernel_phys_base    physical address the kernel image was loaded at
      kernel_virt_base    virtual address it is linked at
      memmap_count, memmap_base[i], memmap_length[i], memmap_type[i]
                          the memory map (physical, bytes, MEM_* below)
      fb_present, fb_address (virtual), fb_width, fb_height, fb_pitch, fb_bpp,
      fb_red_size, fb_red_shift, fb_green_size, fb_green_shift,
      fb_blue_size, fb_blue_shift
      module_count, module_base[i] (virtual), module_size[i]
      rsdp                physical address of the ACPI RSDP, 0 when unknown
      stack_size          kernel boot stack size in bytes
      cmdline             the kernel command line (see cmdline_str / cmdline_has)
    Device-tree machines only (0 elsewhere; elyz/boot/devicetree.py):
      uart_kind           UART_NONE | UART_PL011 | UART_NS16550, the console UART
      uart_base           its physical MMIO address
      uart_reg_shift      log2 of the register stride (`reg-shift`, default 0)
      uart_clock          its input clock in Hz (`clock-frequency`), 0 when unknown
      intc_kind           INTC_NONE | INTC_GICV2 | INTC_GICV3 | INTC_PLIC
      intc_base0          GIC distributor / PLIC base (physical)
      intc_base1          GICv2 CPU interface / GICv3 redistributor (physical)
      timebase_frequency  /cpus timebase-frequency (RISC-V timer Hz), 0 when absent
      dtb_phys, dtb_size  where the device tree blob lies (physical) and its totalsize

    add_memory_region(base, length, type) -> True, or False when the table is full
    set_framebuffer(address, width, height, pitch, bpp, red_size, red_shift,
                    green_size, green_shift, blue_size, blue_shift)
    set_cmdline_from(addr, max_len) / cmdline_has(word)
    clear_devices()          forgets uart_*, intc_*, timebase_frequency
    move_direct_map(offset)  hhdm_offset becomes offset, and every direct-map
                             address in the structure moves with it
"""

from elyz.rlib_kernel import rawmem

PROTOCOL_NONE = 0
PROTOCOL_LIMINE = 1
PROTOCOL_MULTIBOOT2 = 2
PROTOCOL_PVH = 3
PROTOCOL_DEVICETREE = 4
PROTOCOL_NAMES = ['none', 'limine', 'multiboot2', 'pvh', 'devicetree']

# Memory map entry types, Limine's numbering (the richest of the three).
MEM_USABLE = 0
MEM_RESERVED = 1
MEM_ACPI_RECLAIMABLE = 2
MEM_ACPI_NVS = 3
MEM_BAD = 4
MEM_BOOTLOADER_RECLAIMABLE = 5
MEM_KERNEL_AND_MODULES = 6
MEM_FRAMEBUFFER = 7
MEM_TYPE_NAMES = ['usable', 'reserved', 'acpi-reclaimable', 'acpi-nvs', 'bad',
                  'bootloader-reclaimable', 'kernel+modules', 'framebuffer']

# The console UART and interrupt controller a device tree names.
UART_NONE = 0
UART_PL011 = 1           # ARM PrimeCell PL011
UART_NS16550 = 2         # 8250/16550 compatible
UART_NAMES = ['none', 'pl011', 'ns16550']
INTC_NONE = 0
INTC_GICV2 = 1           # base0 distributor, base1 CPU interface
INTC_GICV3 = 2           # base0 distributor, base1 redistributor
INTC_PLIC = 3            # RISC-V platform-level interrupt controller, base0
INTC_NAMES = ['none', 'gicv2', 'gicv3', 'plic']

MAX_MEMMAP_ENTRIES = 256
MAX_MODULES = 16
MAX_CMDLINE = 256
MAX_NAME = 32


class BootInfo(object):
    def __init__(self):
        self.memmap_base = [0] * MAX_MEMMAP_ENTRIES
        self.memmap_length = [0] * MAX_MEMMAP_ENTRIES
        self.memmap_type = [0] * MAX_MEMMAP_ENTRIES
        self.module_base = [0] * MAX_MODULES
        self.module_size = [0] * MAX_MODULES
        self.cmdline = ['\x00'] * MAX_CMDLINE
        self.bootloader = ['\x00'] * MAX_NAME
        self.reset()

    def reset(self):
        """Clears every field; returns nothing."""
        self.protocol = PROTOCOL_NONE
        self.hhdm_offset = 0
        self.kernel_phys_base = 0
        self.kernel_virt_base = 0
        self.memmap_count = 0
        self.fb_present = False
        self.fb_address = 0
        self.fb_width = 0
        self.fb_height = 0
        self.fb_pitch = 0
        self.fb_bpp = 0
        self.fb_red_size = 0
        self.fb_red_shift = 0
        self.fb_green_size = 0
        self.fb_green_shift = 0
        self.fb_blue_size = 0
        self.fb_blue_shift = 0
        self.module_count = 0
        self.rsdp = 0
        self.stack_size = 0
        self.cmdline_len = 0
        self.bootloader_len = 0
        self.memmap_dropped = 0
        self.clear_devices()
        self.dtb_phys = 0
        self.dtb_size = 0

    def clear_devices(self):
        """Forgets the devices a device tree named: UART, interrupt
        controller, timebase.  Returns nothing."""
        self.uart_kind = UART_NONE
        self.uart_base = 0
        self.uart_reg_shift = 0
        self.uart_clock = 0
        self.intc_kind = INTC_NONE
        self.intc_base0 = 0
        self.intc_base1 = 0
        self.timebase_frequency = 0

    def add_memory_region(self, base, length, mem_type):
        """Appends one memory map entry.  Returns False (and counts the loss
        in memmap_dropped) when the table is full."""
        if self.memmap_count >= MAX_MEMMAP_ENTRIES:
            self.memmap_dropped += 1
            return False
        i = self.memmap_count
        self.memmap_base[i] = base
        self.memmap_length[i] = length
        self.memmap_type[i] = mem_type
        self.memmap_count = i + 1
        return True

    def set_framebuffer(self, address, width, height, pitch, bpp, red_size, red_shift,
                        green_size, green_shift, blue_size, blue_shift):
        """Records a linear RGB framebuffer (address: virtual); returns nothing."""
        self.fb_present = True
        self.fb_address = address
        self.fb_width = width
        self.fb_height = height
        self.fb_pitch = pitch
        self.fb_bpp = bpp
        self.fb_red_size = red_size
        self.fb_red_shift = red_shift
        self.fb_green_size = green_size
        self.fb_green_shift = green_shift
        self.fb_blue_size = blue_size
        self.fb_blue_shift = blue_shift

    def add_module(self, base, size):
        """Appends a module; returns False when the table is full."""
        if self.module_count >= MAX_MODULES:
            return False
        self.module_base[self.module_count] = base
        self.module_size[self.module_count] = size
        self.module_count += 1
        return True

    def move_direct_map(self, offset):
        """Makes offset the direct map's base: hhdm_offset, the framebuffer
        address and the module addresses (all direct-map virtual) move by
        the difference.  Returns nothing."""
        delta = offset - self.hhdm_offset
        if self.fb_present:
            self.fb_address += delta
        for i in range(self.module_count):
            self.module_base[i] += delta
        self.hhdm_offset = offset

    def set_cmdline_from(self, addr, max_len):
        """Copies the NUL-terminated string at addr (at most max_len bytes,
        and at most MAX_CMDLINE - 1) into cmdline; returns its length."""
        self.cmdline_len = _copy_c_string(self.cmdline, addr, max_len)
        return self.cmdline_len

    def set_bootloader_from(self, addr, max_len):
        """Copies the NUL-terminated name at addr (at most max_len bytes, and
        at most MAX_NAME - 1) into bootloader; returns its length."""
        self.bootloader_len = _copy_c_string(self.bootloader, addr, max_len)
        return self.bootloader_len

    def set_bootloader_name(self, name):
        """Sets bootloader to the constant string name."""
        n = 0
        while n < len(name) and n < MAX_NAME - 1:
            self.bootloader[n] = name[n]
            n += 1
        self.bootloader_len = n

    def _find_token(self, word, need_value):
        """Returns the index of the first token that is word (need_value
        False: `word` or `word=...`) or `word=value` (need_value True: the
        index of the value), or -1."""
        n = self.cmdline_len
        w = len(word)
        i = 0
        while i < n:
            while i < n and self.cmdline[i] == ' ':
                i += 1
            start = i
            while i < n and self.cmdline[i] != ' ':
                i += 1
            if i - start >= w and self._matches_at(start, word):
                if need_value:
                    if i - start > w and self.cmdline[start + w] == '=':
                        return start + w + 1
                elif i - start == w or self.cmdline[start + w] == '=':
                    return start
        return -1

    def _matches_at(self, start, word):
        k = 0
        while k < len(word):
            if self.cmdline[start + k] != word[k]:
                return False
            k += 1
        return True

    def cmdline_has(self, word):
        """Returns True when word appears in the command line as a whole
        space-separated token (or as the name of a name=value token)."""
        return self._find_token(word, False) >= 0

    def cmdline_value(self, name):
        """Returns the index in cmdline of the value of the first token
        `name=value`, or -1 when there is none; the value runs to the next
        space or the end (cmdline_value_end)."""
        return self._find_token(name, True)

    def cmdline_value_end(self, start):
        """Returns the index just past the value starting at start."""
        i = start
        while i < self.cmdline_len and self.cmdline[i] != ' ':
            i += 1
        return i

    def protocol_name(self):
        """Returns "limine", "multiboot2", "pvh", "devicetree" or "none"."""
        return PROTOCOL_NAMES[self.protocol]


def _copy_c_string(dest, addr, max_len):
    """Copies the NUL-terminated string at addr into the char list dest,
    at most max_len bytes and at most len(dest) - 1; returns the length
    copied (0 when addr is 0)."""
    n = 0
    limit = len(dest) - 1
    if max_len < limit:
        limit = max_len
    if addr != 0:
        while n < limit:
            c = rawmem.load_u8(addr + n)
            if c == 0:
                break
            dest[n] = chr(c)
            n += 1
    return n


# The kernel's single instance, prebuilt into the image.
boot_info = BootInfo()
