"""Where the x86_64 boot stubs put things, as the parsers need to know it.

The numbers come from arch/x86_64/linker.ld, boot.S and boot.h; change
them together.

    KERNEL_VMA          0xffffffff80000000, the kernel's link base
    KERNEL_PHYS_BASE    physical load address of the image on the 32-bit
                        paths (Multiboot2 and PVH load at p_paddr, 1 MiB)
    KERNEL_VIRT_BASE    the virtual address of that first byte
    BOOT_STACK_SIZE     size of boot_stack (boot.h ELYZ_BOOT_STACK_SIZE)
    EARLY_HHDM          base of the early direct map (boot.h ELYZ_EARLY_HHDM)
    EARLY_MAP_SIZE      bytes of physical memory that map covers (4 GiB)

    in_early_map(phys, size) -> True when [phys, phys+size) can be read
                                through the early direct map
"""

from elyz.rlib_kernel.karch import KARCH
from elyz.rlib_kernel.rawmem import to_word

KERNEL_VMA = to_word(0xffffffff80000000)
# Where each port's linker.ld loads the image (its first byte, physical),
# 2 MiB into RAM: riscv64 above OpenSBI, aarch64 above QEMU's DTB,
# loongarch64 above the firmware's low memory.
_PHYS_BASES = {'x86_64': 0x100000, 'riscv64': 0x80200000, 'aarch64': 0x40200000,
               'loongarch64': 0x200000}
_VIRT_OFFSETS = {'x86_64': 0x100000, 'riscv64': 0x200000, 'aarch64': 0x200000,
                 'loongarch64': 0x200000}
KERNEL_PHYS_BASE = _PHYS_BASES[KARCH]
KERNEL_VIRT_BASE = to_word(0xffffffff80000000 + _VIRT_OFFSETS[KARCH])
BOOT_STACK_SIZE = 64 * 1024
EARLY_HHDM = to_word(0xffff800000000000)
EARLY_MAP_SIZE = 4 * 1024 * 1024 * 1024


def in_early_map(phys, size):
    """Returns True when the physical range [phys, phys+size) lies inside
    the first EARLY_MAP_SIZE bytes, which boot.S maps at the early HHDM;
    False for any negative value (a u64 of 2**63 or more) or overflow."""
    if phys < 0 or size < 0:
        return False
    if phys > EARLY_MAP_SIZE or size > EARLY_MAP_SIZE - phys:
        return False
    return True
