"""The kernel's own address space (every architecture; the x86_64-only
steps are marked).

    build(boot_info, alloc) -> PML4 physical address, or a negative E_* code
        A fresh PML4 holding:
          - the kernel image with per-section permissions: text R-X,
            rodata R--, data and bss RW- (no execute), the boot section
            (Multiboot2 header, 32-bit entry, early tables and GDT) RW-;
            the kernel stacks RW-, and the guard page below each stack
            left unmapped (elyz/rlib_kernel/image.py);
          - the direct map (virtual = physical + hhdm_offset) of every memory
            map entry the kernel may touch: usable, bootloader-reclaimable,
            kernel and modules, ACPI tables and NVS - with 2 MiB pages where
            aligned, no execute; the frames of the kernel image read-only
            there, whatever the memory map calls them, so no alias of text
            or rodata is writable (W^X holds through every mapping);
          - the framebuffer in the direct map, write-combining.
        Every upper-half PML4 entry gets its PDPT now (supervisor-only), so
        address spaces made later share the whole kernel half.
    activate(pml4)      ports: loads the root through the machine module
                        (elyz/rlib_kernel/port.py) and flushes the TLB;
                        x86_64: programs the PAT (write-combining at index 1,
                        the layout of elyz/mm/pte/x86_64.py), turns on
                        EFER.NXE, loads CR3, then sets CR0.WP, CR4.PGE, SMEP
                        and SMAP (elyz/mm/protection.py); records pml4 as the
                        kernel's. Returns nothing.
    image_phys_range() -> (first, end) physical bytes of the kernel image
    nx_supported()      does the CPU have the NX bit (known after build)
    kernel_pml4() -> the active kernel PML4 (0 before activate)
    map_device(phys, size) -> the virtual address of the uncached mapping of
                        [phys, phys+size) in the direct map (already-mapped
                        pages are re-protected uncached), or 0 when it cannot
                        be mapped (the reason is logged): the address is a
                        negative word, so errors cannot share it.
    add_device_window(phys, size) -> True, or False when the table of
                        MAX_DEVICE_WINDOWS is full (size 0 or phys 0: ignored,
                        True): build() maps [phys, phys+size) uncached in the
                        direct map, for devices used while the tables switch
                        (a port's UART and exit device)
    tlb                 the TlbInvalidator that issues invlpg
"""

from elyz.boot import bootinfo
from elyz.lib import log
from elyz.mm import paging, protection
from elyz.mm.pte import x86_64 as x86_pte
from elyz.abi.errors import error_name
from elyz.rlib_kernel import cpu, image
from elyz.rlib_kernel.karch import KARCH
from elyz.rlib_kernel.port import machine

MSR_EFER = 0xC0000080
EFER_NXE = 1 << 11
CPUID_EXTENDED_FEATURES = 0x80000001
CPUID_EDX_NX = 1 << 20

KERNEL_FLAGS_TEXT = paging.PAGE_GLOBAL
KERNEL_FLAGS_RODATA = paging.PAGE_GLOBAL | paging.PAGE_NO_EXECUTE
KERNEL_FLAGS_DATA = paging.PAGE_GLOBAL | paging.PAGE_NO_EXECUTE | paging.PAGE_WRITE
DIRECT_MAP_FLAGS = (paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE | paging.PAGE_GLOBAL |
                    paging.PAGE_ALLOW_LARGE)
# The direct-map alias of the kernel image's own frames.
IMAGE_ALIAS_FLAGS = paging.PAGE_NO_EXECUTE | paging.PAGE_GLOBAL
FRAMEBUFFER_FLAGS = (paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE | paging.PAGE_GLOBAL |
                     paging.PAGE_WRITE_COMBINING | paging.PAGE_ALLOW_LARGE)
DEVICE_FLAGS = (paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE | paging.PAGE_GLOBAL |
                paging.PAGE_UNCACHED)


class KernelTlb(paging.TlbInvalidator):
    def invalidate(self, virt):
        """Drops the TLB entry of virt on this CPU."""
        if KARCH == 'x86_64':
            cpu.invlpg(virt)
        else:
            machine.invalidate_page(virt)


MAX_DEVICE_WINDOWS = 8


class _KernelSpace(object):
    def __init__(self):
        self.device_phys = [0] * MAX_DEVICE_WINDOWS
        self.device_size = [0] * MAX_DEVICE_WINDOWS
        self.device_count = 0
        self.pml4 = 0
        self.alloc = None
        self.hhdm_offset = 0
        self.nx_supported = True
        self.image_phys_start = 0
        self.image_phys_end = 0


_space = _KernelSpace()
tlb = KernelTlb()


def kernel_pml4():
    """Returns the physical address of the active kernel PML4, 0 before activate()."""
    return _space.pml4


def _page_down(n):
    return n & ~(paging.PAGE_SIZE - 1)


def _page_up(n):
    return (n + paging.PAGE_SIZE - 1) & ~(paging.PAGE_SIZE - 1)


def strip_nx(flags):
    """Returns flags without PAGE_NO_EXECUTE when the CPU has no NX bit."""
    return _strip_nx(flags)


def _strip_nx(flags):
    """Returns flags without PAGE_NO_EXECUTE when the CPU has no NX bit."""
    if _space.nx_supported:
        return flags
    return flags & ~paging.PAGE_NO_EXECUTE


def _map_section(pml4, boot_info, start, end, flags, alloc):
    """Maps the image section [start, end) (virtual, page aligned) at its
    load address; returns 0 or an error."""
    if end <= start:
        return 0
    phys = start - boot_info.kernel_virt_base + boot_info.kernel_phys_base
    return paging.map_range(pml4, start, phys, end - start, _strip_nx(flags), alloc)


def nx_supported():
    """Returns True when the CPU has the NX bit (known after build())."""
    return _space.nx_supported


def image_phys_range():
    """Returns (first, end): the physical bytes [first, end) the kernel
    image occupies (page aligned); (0, 0) before build()."""
    return _space.image_phys_start, _space.image_phys_end


def _map_image(pml4, boot_info, alloc):
    """Maps the image's sections and stacks (see build); returns 0 or an error."""
    status = _map_section(pml4, boot_info, image.kernel_start(), image.text_start(),
                          KERNEL_FLAGS_DATA, alloc)
    if status == 0:
        status = _map_section(pml4, boot_info, image.text_start(), image.text_end(),
                              KERNEL_FLAGS_TEXT, alloc)
    if status == 0:
        status = _map_section(pml4, boot_info, image.rodata_start(), image.rodata_end(),
                              KERNEL_FLAGS_RODATA, alloc)
    if status == 0:
        status = _map_section(pml4, boot_info, image.data_start(), image.stacks_start(),
                              KERNEL_FLAGS_DATA, alloc)
    i = 0
    while status == 0 and i < image.stack_count():
        status = _map_section(pml4, boot_info, image.stack_bottom(i), image.stack_top(i),
                              KERNEL_FLAGS_DATA, alloc)
        i += 1
    if status < 0:
        log.begin(log.ERROR)
        log.put('kernel space: mapping the kernel image failed: ')
        log.put(error_name(status))
        log.end()
    return status


def _map_direct(pml4, phys, end, flags, alloc):
    """Maps [phys, end) at phys + hhdm with flags; returns 0 or an error."""
    if end <= phys:
        return 0
    return paging.map_range(pml4, phys + _space.hhdm_offset, phys, end - phys,
                            _strip_nx(flags), alloc)


def _map_direct_entry(pml4, base, end, alloc):
    """Direct-maps the memory map range [base, end) read-write, except its
    overlap with the kernel image, mapped read-only; returns 0 or an error."""
    image_start = _space.image_phys_start
    image_end = _space.image_phys_end
    if end <= image_start or base >= image_end:
        return _map_direct(pml4, base, end, DIRECT_MAP_FLAGS, alloc)
    status = _map_direct(pml4, base, image_start, DIRECT_MAP_FLAGS, alloc)
    if status == 0:
        status = _map_direct(pml4, max(base, image_start), min(end, image_end),
                             IMAGE_ALIAS_FLAGS, alloc)
    if status == 0:
        status = _map_direct(pml4, image_end, end, DIRECT_MAP_FLAGS, alloc)
    return status


def _direct_mapped_type(mem_type):
    return (mem_type == bootinfo.MEM_USABLE or mem_type == bootinfo.MEM_BOOTLOADER_RECLAIMABLE
            or mem_type == bootinfo.MEM_KERNEL_AND_MODULES
            or mem_type == bootinfo.MEM_ACPI_RECLAIMABLE or mem_type == bootinfo.MEM_ACPI_NVS)


def _map_framebuffer(pml4, boot_info, alloc):
    """Maps the framebuffer write-combining in the direct map; returns 0 or an error."""
    if not boot_info.fb_present:
        return 0
    phys = _page_down(boot_info.fb_address - boot_info.hhdm_offset)
    end = _page_up(boot_info.fb_address - boot_info.hhdm_offset
                   + boot_info.fb_pitch * boot_info.fb_height)
    virt = phys + boot_info.hhdm_offset
    while phys < end:
        if paging.translate(pml4, virt) < 0:
            status = paging.map(pml4, virt, phys,
                                _strip_nx(FRAMEBUFFER_FLAGS) & ~paging.PAGE_ALLOW_LARGE, alloc)
            if status < 0:
                return status
        phys += paging.PAGE_SIZE
        virt += paging.PAGE_SIZE
    return 0


def add_device_window(phys, size):
    """Records [phys, phys+size) for build() to map uncached; returns
    False when the table is full."""
    if phys == 0 or size <= 0:
        return True
    if _space.device_count >= MAX_DEVICE_WINDOWS:
        return False
    _space.device_phys[_space.device_count] = phys
    _space.device_size[_space.device_count] = size
    _space.device_count += 1
    return True


def _map_device_windows(pml4, alloc):
    """Maps the recorded device windows uncached at phys + hhdm; returns 0
    or an error."""
    i = 0
    while i < _space.device_count:
        phys = _page_down(_space.device_phys[i])
        end = _page_up(_space.device_phys[i] + _space.device_size[i])
        while phys < end:
            virt = phys + _space.hhdm_offset
            if paging.translate(pml4, virt) < 0:
                status = paging.map(pml4, virt, phys, _strip_nx(DEVICE_FLAGS), alloc)
                if status < 0:
                    return status
            phys += paging.PAGE_SIZE
        i += 1
    return 0


def build(boot_info, alloc):
    """Returns the physical address of a new kernel PML4, or an error code."""
    _space.hhdm_offset = boot_info.hhdm_offset
    if KARCH == 'x86_64':
        _space.nx_supported = (cpu.cpuid(CPUID_EXTENDED_FEATURES, 0, 3) & CPUID_EDX_NX) != 0
    else:
        _space.nx_supported = True          # every port's format has execute-never bits
    paging.set_hhdm_offset(boot_info.hhdm_offset)
    pml4 = paging.create_address_space(alloc)
    if pml4 < 0:
        return pml4
    status = paging.populate_kernel_half(pml4, alloc)
    if status < 0:
        return status
    _space.image_phys_start = _page_down(boot_info.kernel_phys_base)
    _space.image_phys_end = _page_up(boot_info.kernel_phys_base + image.kernel_end()
                                     - image.kernel_start())
    status = _map_image(pml4, boot_info, alloc)
    if status < 0:
        return status
    for i in range(boot_info.memmap_count):
        mem_type = boot_info.memmap_type[i]
        if not _direct_mapped_type(mem_type):
            continue
        base = _page_down(boot_info.memmap_base[i])
        end = _page_up(boot_info.memmap_base[i] + boot_info.memmap_length[i])
        status = _map_direct_entry(pml4, base, end, alloc)
        if status < 0:
            log.begin(log.ERROR)
            log.put('kernel space: direct map of ')
            log.put_hex(base)
            log.put(' failed')
            log.end()
            return status
    status = _map_framebuffer(pml4, boot_info, alloc)
    if status == 0:
        status = _map_device_windows(pml4, alloc)
    if status < 0:
        return status
    _space.alloc = alloc
    return pml4


def activate(pml4):
    """Switches the CPU to pml4 (see the module docstring); returns nothing."""
    if KARCH == 'x86_64':
        cpu.write_msr(x86_pte.PAT_MSR, x86_pte.PAT_MSR_VALUE)
        if _space.nx_supported:
            cpu.write_msr(MSR_EFER, cpu.read_msr(MSR_EFER) | EFER_NXE)
        cpu.write_cr3(pml4)
        protection.enable()
    else:
        machine.activate_root(pml4)
        machine.invalidate_all()
    _space.pml4 = pml4


def _device_refused(phys, reason):
    log.begin(log.ERROR)
    log.put('kernel space: cannot map device memory at ')
    log.put_hex(phys)
    log.put(': ')
    log.put(reason)
    log.end()
    return 0


def map_device(phys, size):
    """Returns the uncached direct-map address of device memory at phys, or
    0 (logged) before activate(), for a bad range, for memory inside a RAM
    large page, or when page tables cannot be allocated."""
    if _space.pml4 == 0 or _space.alloc is None:
        return _device_refused(phys, 'no kernel page tables yet')
    if size <= 0 or phys < 0:
        return _device_refused(phys, 'bad range')
    start = _page_down(phys)
    end = _page_up(phys + size)
    page = start
    while page < end:
        virt = page + _space.hhdm_offset
        if paging.translate(_space.pml4, virt) >= 0:
            if paging.mapping_size(_space.pml4, virt) != paging.PAGE_SIZE:
                return _device_refused(phys, 'it lies inside a RAM large page')
            status = paging.protect(_space.pml4, virt, _strip_nx(DEVICE_FLAGS), tlb)
        else:
            status = paging.map(_space.pml4, virt, page, _strip_nx(DEVICE_FLAGS), _space.alloc)
        if status < 0:
            return _device_refused(phys, error_name(status))
        page += paging.PAGE_SIZE
    return phys + _space.hhdm_offset


def reset_for_tests():
    """Untranslated only: forgets the kernel space."""
    _space.pml4 = 0
    _space.alloc = None
    _space.hhdm_offset = 0
    _space.nx_supported = True
    _space.image_phys_start = 0
    _space.image_phys_end = 0
    _space.device_count = 0
    protection.reset_for_tests()
