"""An audit of an address space's page tables against the kernel's rules.

    audit(pml4, rules) -> None when every rule holds, or a constant string
        naming the first rule broken; audit_failed_virt() is then the
        virtual address where the walk found it.
    AuditRules    what the audit must know of the kernel: the image's
                  virtual sections and physical place, and whether the CPU
                  has NX (without it nothing can be made non-executable).

The rules (docs/architecture.md, "Memory"):
  1. no page is both writable and executable (W^X), when the CPU has NX;
  2. in the kernel half no entry, at any level, allows user access;
  3. in the lower half no page is global;
  4. no mapping of a frame of kernel text or rodata is writable, and the
     only writable mappings of any frame of the image are the image's own
     data pages (the direct-map alias is read-only);
  5. in the kernel half only the image's text is executable;
  6. the guard page below each kernel stack is unmapped.

It reads the tables through the direct map like paging.py, and their
entries only through the format in use (paging.fmt), allocates nothing, and runs untranslated over simulated memory (tests/mm) and in the
translated kernel over the live tables (self-test paging.kernel_tables_audit).
"""

from elyz.mm import paging
from elyz.rlib_kernel import image

PML4_SPAN_SHIFT = 39
ADDRESS_BITS = 48


class AuditRules(object):
    """The facts audit() checks the tables against (all addresses page aligned)."""

    def __init__(self):
        self.nx_supported = True
        self.text_start = 0         # virtual, of the image's own mapping
        self.text_end = 0
        self.rodata_end = 0         # text and rodata are contiguous: text..rodata_end
        self.data_start = 0         # the writable part of the image: data..image end
        self.image_virt_start = 0
        self.image_phys_start = 0
        self.image_phys_end = 0

    def fill_from_image(self, image_phys_start, image_phys_end, nx_supported):
        """Takes the sections from the linked image (elyz/rlib_kernel/image.py)
        and the image's physical place; returns nothing."""
        self.nx_supported = nx_supported
        self.text_start = image.text_start()
        self.text_end = image.text_end()
        self.rodata_end = image.rodata_end()
        self.data_start = image.data_start()
        self.image_virt_start = image.kernel_start()
        self.image_phys_start = image_phys_start
        self.image_phys_end = image_phys_end


class _Finding(object):
    def __init__(self):
        self.virt = 0


_finding = _Finding()


def audit_failed_virt():
    """Returns the virtual address of the last audit's finding (0 if none)."""
    return _finding.virt


def _virt_of_pml4_index(index):
    """Returns the (sign-extended) first address PML4 entry index maps."""
    virt = index << PML4_SPAN_SHIFT
    if index >= paging.KERNEL_HALF_FIRST:
        virt -= 1 << ADDRESS_BITS
    return virt


def _image_virt_of(rules, phys):
    """Returns the address of phys in the image's own mapping."""
    return phys - rules.image_phys_start + rules.image_virt_start


def _check_leaf(rules, virt, entry, level):
    """Returns None when the leaf entry at level mapping [virt, virt+size)
    keeps the rules, or the broken rule."""
    size = 1 << (paging.PAGE_SHIFT + 9 * (level - 1))
    flags = paging.fmt.flags_of(entry, level)
    writable = (flags & paging.PAGE_WRITE) != 0
    executable = (flags & paging.PAGE_NO_EXECUTE) == 0
    if rules.nx_supported and writable and executable:
        return 'a page is writable and executable'
    if virt >= 0:
        if flags & paging.PAGE_GLOBAL:
            return 'a lower-half page is global'
    elif rules.nx_supported and executable and (
            virt < rules.text_start or virt + size > rules.text_end):
        return 'kernel memory outside .text is executable'
    if not writable:
        return None
    phys = paging.fmt.leaf_address(entry, level)
    if phys + size <= rules.image_phys_start or phys >= rules.image_phys_end:
        return None
    # A writable mapping of image frames: only the image's own data pages.
    if size != paging.PAGE_SIZE or virt != _image_virt_of(rules, phys):
        return 'an alias of the kernel image is writable'
    if rules.text_start <= virt < rules.rodata_end:
        return 'kernel text or rodata is writable'
    return None


def _audit_table(rules, table, level, base):
    """Checks every present entry of table (at level, mapping from base);
    returns None or the broken rule (with _finding.virt set)."""
    size = 1 << (paging.PAGE_SHIFT + 9 * (level - 1))
    i = 0
    while i < paging.ENTRIES:
        if level == paging.LEVEL_PML4:
            virt = _virt_of_pml4_index(i)
        else:
            virt = base + i * size
        entry = paging.read_entry(table + i * paging.ENTRY_SIZE)
        if paging.fmt.is_present(entry):
            _finding.virt = virt
            if virt < 0 and paging.fmt.grants_user(entry, level):
                return 'a kernel-half entry allows user access'
            if level == paging.LEVEL_PT or (level != paging.LEVEL_PML4 and
                                            paging.fmt.is_block(entry)):
                reason = _check_leaf(rules, virt, entry, level)
            else:
                reason = _audit_table(rules, paging.fmt.table_address(entry), level - 1,
                                      virt)
            if reason is not None:
                return reason
        i += 1
    return None


def audit(pml4, rules):
    """Returns None when the tables under pml4 keep every rule of the module
    docstring, or the first rule broken (audit_failed_virt() says where)."""
    _finding.virt = 0
    reason = _audit_table(rules, pml4, paging.LEVEL_PML4, 0)
    if reason is not None:
        return reason
    i = 0
    while i < image.stack_count():
        guard = image.stack_bottom(i) - image.STACK_GUARD_SIZE
        if paging.translate(pml4, guard) >= 0:
            _finding.virt = guard
            return 'a stack guard page is mapped'
        i += 1
    _finding.virt = 0
    return None
