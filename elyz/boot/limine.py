"""The Limine boot protocol: from the kernel's answered requests to BootInfo.

Protocol document: "The Limine Boot Protocol", PROTOCOL.md of
github.com/limine-bootloader/limine-protocol (include/limine.h there).
The kernel's requests are static C structs in section .limine_requests
(arch/common/kernel/limine_requests.c, shared by x86_64, aarch64 and
riscv64); Limine fills in each request's `response` pointer before
jumping to the kernel.  The C side uses the same numbers through
arch/common/kernel/limine_ids.h (test_limine checks the two agree).

Every request starts with
      0  u64 id[4]       COMMON_MAGIC_0, COMMON_MAGIC_1, then two words per request
     32  u64 revision
     40  u64 response    (struct *), NULL when Limine did not answer
     48  ...             request-specific (stack size request: u64 stack_size)
and every pointer Limine hands over is a higher-half (HHDM) virtual address.
Responses read here (u64 fields, offsets in bytes):
    hhdm                {revision 0, offset 8}
    memmap              {revision 0, entry_count 8, entries 16} entries ->
                        entry_count pointers -> {base 0, length 8, type 16}
    framebuffer         {revision 0, framebuffer_count 8, framebuffers 16} ->
                        pointers -> {address 0, width 8, height 16, pitch 24,
                        bpp u16 32, memory_model u8 34, red_mask_size u8 35,
                        red_mask_shift 36, green_size 37, green_shift 38,
                        blue_size 39, blue_shift 40, ...}
    executable address  {revision 0, physical_base 8, virtual_base 16}
    module              {revision 0, module_count 8, modules 16} -> pointers ->
                        limine_file {revision 0, address 8, size 16, path 24,
                        string (the cmdline) 32, ...}
    rsdp                {revision 0, address 8}  (physical in base revision 3
                        only, HHDM virtual otherwise)
    bootloader info     {revision 0, name 8, version 16}
    executable cmdline  {revision 0, cmdline 8}
    executable file     {revision 0, executable_file 8 -> limine_file}
    stack size          {revision 0}
    dtb                 {revision 0, dtb_ptr 8}  -> dtb_phys (the blob itself
                        is read by elyz/kernel/boot.py, devices only)
    entry point         {revision 0}  (the request, made by the ports only,
                        carries the entry address; nothing to read back)
Memory map types are Limine's numbering, which bootinfo.MEM_* copies;
LIMINE_MEMMAP_RESERVED_MAPPED (8, base revision 4+) becomes MEM_RESERVED.

The request table.  boot.c hands the kernel the address of
elyz_limine_request_table, laid out as
      0  u64 slot_count    == TABLE_SLOTS
      8  u64 slot[i]       address of request i (SLOT_* order), 0 if none
API:
    LimineRequests            the request addresses, one field per slot
    read_request_table(table, requests) -> 0 or an error code
    parse_limine(requests, info) -> 0 or an error code (errors.py)
    parse_limine_table(table, info)  both, with a prebuilt LimineRequests
    base_revision_supported(tag)     True when Limine accepted our revision
"""

from rpython.rlib.unroll import unrolling_iterable

from elyz.boot import errors, memmap
from elyz.boot.bootinfo import (MAX_CMDLINE, MAX_MODULES, MAX_NAME,
                                MEM_RESERVED, PROTOCOL_LIMINE)
from elyz.rlib_kernel import rawmem
from elyz.rlib_kernel.rawmem import to_word

# ---------------------------------------------------------- protocol numbers
# PROTOCOL.md, "Requests Delimiters", "Base Revisions", "Features".
COMMON_MAGIC = (0xc7b1dd30df4c8b88, 0x0a82e883a194f07b)
BASE_REVISION_MAGIC = (0xf9562b2d5c95a6c8, 0x6a7b384944536bdc)
REQUESTS_START_MARKER = (0xf6b8f4b39de7d1ae, 0xfab91a6940fcb9cf,
                         0x785c6ed015d3e316, 0x181e920a7852b9d9)
REQUESTS_END_MARKER = (0xadc0e0531bb10d03, 0x9572709f31764c62)

# The last two words of each request's id (PROTOCOL.md, "Feature List").
REQUEST_IDS = [
    ('BOOTLOADER_INFO', 0xf55038d8e2a1202f, 0x279426fcf5f59740),
    ('EXECUTABLE_CMDLINE', 0x4b161536e598651e, 0xb390ad4a2f1f303a),
    ('FIRMWARE_TYPE', 0x8c2f75d90bef28a8, 0x7045a4688eac00c3),
    ('STACK_SIZE', 0x224ef0460a8e8926, 0xe1cb0fc25f46ea3d),
    ('HHDM', 0x48dcf1cb8ad2b852, 0x63984e959a98244b),
    ('FRAMEBUFFER', 0x9d5827dcd881dd75, 0xa3148604f6fab11b),
    ('PAGING_MODE', 0x95c1a0edab0944cb, 0xa4e5cb3842f7488a),
    ('MP', 0x95a67b819a1b857e, 0xa0b61b723b6a73e0),
    ('RISCV_BSP_HARTID', 0x1369359f025525f9, 0x2ff2a56178391bb6),
    ('MEMMAP', 0x67cf3d9d378a806f, 0xe304acdfc50c3c62),
    ('ENTRY_POINT', 0x13d86c035a1cd3e1, 0x2b0caa89d8f3026a),
    ('EXECUTABLE_FILE', 0xad97e90e83f1ed67, 0x31eb5d1c5ff23b69),
    ('MODULE', 0x3e7e279702be32af, 0xca1c4f3bd1280cee),
    ('RSDP', 0xc5e77b6b397e7b43, 0x27637845accdcf3c),
    ('SMBIOS', 0x9e9046f11e095391, 0xaa4a520fefbde5ee),
    ('EFI_SYSTEM_TABLE', 0x5ceba5163eaaf6d6, 0x0a6981610cf65fcc),
    ('TPM_EVENT_LOG', 0x98e094fc7e76e979, 0xee8d8775c54e1d1f),
    ('EFI_MEMMAP', 0x7df62a431d6872d5, 0xa4fcdfb3e57306c8),
    ('DATE_AT_BOOT', 0x502746e184c088aa, 0xfbc5ec83e6327893),
    ('EXECUTABLE_ADDRESS', 0x71ba76863cc55f63, 0xb2644a48c516a487),
    ('DTB', 0xb40ddb48fb54bac7, 0x545081493f81ffb7),
    ('BOOTLOADER_PERFORMANCE', 0x6b50ad9bf36d13ad, 0xdc4c7e88fc759e17),
    ('X86_64_KEEP_IOMMU', 0x8ebaabe51f490179, 0x2aa86a59ffb4ab0f),
    ('TSC_FREQUENCY', 0x10f2ee1d87d195e4, 0xf747a2b78f6ddb31),
    ('FLANTERM_FB_INIT_PARAMS', 0x3259399fe7c5f126, 0xe01c1c8c5db9d1a9),
    ('ENTROPY', 0x65ea80255d5682c5, 0x9117240723f493eb),
]


def _request_id(name):
    for entry_name, word2, word3 in REQUEST_IDS:
        if entry_name == name:
            return (to_word(word2), to_word(word3))
    raise KeyError(name)


# The same numbers as Signed words, for comparison with rawmem.load_u64.
COMMON_MAGIC_0 = to_word(COMMON_MAGIC[0])
COMMON_MAGIC_1 = to_word(COMMON_MAGIC[1])
BASE_REVISION_MAGIC_0 = to_word(BASE_REVISION_MAGIC[0])
BASE_REVISION_MAGIC_1 = to_word(BASE_REVISION_MAGIC[1])

# Request and response layout (byte offsets).
REQUEST_REVISION = 32
REQUEST_RESPONSE = 40
STACK_SIZE_FIELD = 48          # stack size request: u64 stack_size
BASE_REVISION_TAG_WORDS = 3
LIMINE_FILE_ADDRESS = 8
LIMINE_FILE_SIZE = 16
LIMINE_FILE_STRING = 32
FRAMEBUFFER_RGB = 1
MEMMAP_RESERVED_MAPPED = 8
DEFAULT_STACK_SIZE = 64 * 1024     # "at least 64KiB" without a stack size request
MAX_ENTRY_COUNT = 1 << 16          # more memmap entries or modules is garbage

# ------------------------------------------------------------ request table
SLOT_BASE_REVISION = 0
SLOT_HHDM = 1
SLOT_MEMMAP = 2
SLOT_FRAMEBUFFER = 3
SLOT_EXECUTABLE_ADDRESS = 4
SLOT_MODULE = 5
SLOT_RSDP = 6
SLOT_STACK_SIZE = 7
SLOT_BOOTLOADER_INFO = 8
SLOT_EXECUTABLE_CMDLINE = 9
SLOT_EXECUTABLE_FILE = 10
SLOT_DTB = 11
SLOT_ENTRY_POINT = 12
TABLE_SLOTS = 13

# The requests after the base revision tag: the LimineRequests field that
# holds the request's address, its slot in the table, its id.
_REQUESTS = unrolling_iterable([
    ('hhdm', SLOT_HHDM, _request_id('HHDM')),
    ('memmap', SLOT_MEMMAP, _request_id('MEMMAP')),
    ('framebuffer', SLOT_FRAMEBUFFER, _request_id('FRAMEBUFFER')),
    ('executable_address', SLOT_EXECUTABLE_ADDRESS, _request_id('EXECUTABLE_ADDRESS')),
    ('module', SLOT_MODULE, _request_id('MODULE')),
    ('rsdp', SLOT_RSDP, _request_id('RSDP')),
    ('stack_size', SLOT_STACK_SIZE, _request_id('STACK_SIZE')),
    ('bootloader_info', SLOT_BOOTLOADER_INFO, _request_id('BOOTLOADER_INFO')),
    ('executable_cmdline', SLOT_EXECUTABLE_CMDLINE, _request_id('EXECUTABLE_CMDLINE')),
    ('executable_file', SLOT_EXECUTABLE_FILE, _request_id('EXECUTABLE_FILE')),
    ('dtb', SLOT_DTB, _request_id('DTB')),
    ('entry_point', SLOT_ENTRY_POINT, _request_id('ENTRY_POINT')),
])


class LimineRequests(object):
    """Virtual addresses of the kernel's request structures: base_revision
    (the tag) and one field per entry of _REQUESTS; 0 for a request the
    kernel does not make."""

    def __init__(self):
        self.clear()

    def clear(self):
        """Sets every address to 0 (nothing requested); returns nothing."""
        self.base_revision = 0
        for field, slot, request_id in _REQUESTS:
            setattr(self, field, 0)


_requests = LimineRequests()       # the kernel's, filled by parse_limine_table


def read_request_table(table, requests):
    """Fills requests from the table at virtual address table (layout in the
    module docstring).  Returns 0, E_BAD_ADDRESS for a NULL table, or
    E_BAD_REQUEST when its slot count is not TABLE_SLOTS."""
    requests.clear()
    if table == 0:
        return errors.E_BAD_ADDRESS
    if rawmem.load_u64(table) != TABLE_SLOTS:
        return errors.E_BAD_REQUEST
    slots = table + 8
    requests.base_revision = rawmem.load_u64(slots + 8 * SLOT_BASE_REVISION)
    for field, slot, request_id in _REQUESTS:
        setattr(requests, field, rawmem.load_u64(slots + 8 * slot))
    return errors.OK


def parse_limine_table(table, info):
    """Reads the request table at table, then parses the answers into info.
    Returns 0 or the first error code of either step."""
    status = read_request_table(table, _requests)
    if status != errors.OK:
        info.reset()
        info.protocol = PROTOCOL_LIMINE
        return status
    return parse_limine(_requests, info)


def base_revision_supported(tag):
    """Returns True when Limine set the third word of the base revision tag
    at tag to 0, i.e. it honours the base revision the kernel asked for."""
    return rawmem.load_u64(tag + 16) == 0


def parse_limine(requests, info):
    """Resets info and fills it from Limine's responses to requests, then
    normalises the memory map.  Returns 0, or: E_BAD_REQUEST when a request
    address does not hold that request (or there is no base revision tag),
    E_BAD_VERSION when Limine did not accept our base revision, E_NO_HHDM /
    E_NO_MEMORY_MAP when those answers are missing, E_BAD_ADDRESS for a
    pointer outside the higher half, E_BAD_SIZE for an absurd count.  A
    missing optional response just leaves its fields empty."""
    info.reset()
    info.protocol = PROTOCOL_LIMINE
    status = _check_requests(requests)
    if status != errors.OK:
        return status
    if not base_revision_supported(requests.base_revision):
        return errors.E_BAD_VERSION
    for read in _READERS:          # listed at the end of the module
        status = read(requests, info)
        if status != errors.OK:
            return status
    memmap.normalise(info)
    return errors.OK


# ------------------------------------------------------------------ helpers

def _higher_half(pointer):
    """Returns True for a higher-half address, where every pointer Limine
    hands over lives (they read as negative Signed words)."""
    return pointer < 0


def _has_id(request, request_id):
    """Returns True when the request at address request carries
    COMMON_MAGIC followed by the two words of request_id."""
    return (rawmem.load_u64(request) == COMMON_MAGIC_0
            and rawmem.load_u64(request + 8) == COMMON_MAGIC_1
            and rawmem.load_u64(request + 16) == request_id[0]
            and rawmem.load_u64(request + 24) == request_id[1])


def _optional_request_ok(request, request_id):
    """Returns True when request is 0 (not made) or carries request_id."""
    return request == 0 or _has_id(request, request_id)


def _check_requests(requests):
    """Returns E_BAD_REQUEST unless there is a base revision tag and every
    given address holds the request its field is named after; else 0."""
    tag = requests.base_revision
    if tag == 0 or rawmem.load_u64(tag) != BASE_REVISION_MAGIC_0:
        return errors.E_BAD_REQUEST
    for field, slot, request_id in _REQUESTS:
        if not _optional_request_ok(getattr(requests, field), request_id):
            return errors.E_BAD_REQUEST
    return errors.OK


def _response(request):
    """Returns the response pointer of the request at request, 0 when the
    request was not made or not answered."""
    if request == 0:
        return 0
    return rawmem.load_u64(request + REQUEST_RESPONSE)


def _read_hhdm(requests, info):
    """Sets info.hhdm_offset.  Returns E_NO_HHDM without an answer,
    E_BAD_ADDRESS for a response outside the higher half."""
    response = _response(requests.hhdm)
    if response == 0:
        return errors.E_NO_HHDM
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    info.hhdm_offset = rawmem.load_u64(response + 8)
    return errors.OK


def _read_memmap(requests, info):
    """Copies the memory map.  Returns E_NO_MEMORY_MAP without an answer or
    with no entries, E_BAD_SIZE for an absurd entry count, E_BAD_ADDRESS
    for a pointer outside the higher half."""
    response = _response(requests.memmap)
    if response == 0:
        return errors.E_NO_MEMORY_MAP
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    count = rawmem.load_u64(response + 8)
    entries = rawmem.load_u64(response + 16)
    if count == 0:
        return errors.E_NO_MEMORY_MAP
    if count < 0 or count > MAX_ENTRY_COUNT:
        return errors.E_BAD_SIZE
    if not _higher_half(entries):
        return errors.E_BAD_ADDRESS
    for i in range(count):
        entry = rawmem.load_u64(entries + 8 * i)
        if not _higher_half(entry):
            return errors.E_BAD_ADDRESS
        mem_type = rawmem.load_u64(entry + 16)
        if mem_type == MEMMAP_RESERVED_MAPPED:
            mem_type = MEM_RESERVED
        memmap.add_region(info, rawmem.load_u64(entry), rawmem.load_u64(entry + 8),
                          mem_type)
    return errors.OK


def _read_framebuffer(requests, info):
    """Takes the first framebuffer when it is an RGB one with sane
    dimensions.  Returns E_BAD_ADDRESS for a pointer outside the higher
    half; no framebuffer at all is not an error."""
    response = _response(requests.framebuffer)
    if response == 0:
        return errors.OK
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    if rawmem.load_u64(response + 8) <= 0:
        return errors.OK
    array = rawmem.load_u64(response + 16)
    if not _higher_half(array):
        return errors.E_BAD_ADDRESS
    fb = rawmem.load_u64(array)
    if not _higher_half(fb):
        return errors.E_BAD_ADDRESS
    address = rawmem.load_u64(fb)
    width = rawmem.load_u64(fb + 8)
    height = rawmem.load_u64(fb + 16)
    pitch = rawmem.load_u64(fb + 24)
    bpp = rawmem.load_u16(fb + 32)
    if rawmem.load_u8(fb + 34) != FRAMEBUFFER_RGB:
        return errors.OK
    if (not _higher_half(address) or width <= 0 or height <= 0 or bpp == 0
            or pitch <= 0):
        return errors.OK
    info.set_framebuffer(address, width, height, pitch, bpp,
                         rawmem.load_u8(fb + 35), rawmem.load_u8(fb + 36),
                         rawmem.load_u8(fb + 37), rawmem.load_u8(fb + 38),
                         rawmem.load_u8(fb + 39), rawmem.load_u8(fb + 40))
    return errors.OK


def _read_executable_address(requests, info):
    """Sets kernel_phys_base / kernel_virt_base.  Returns E_BAD_ADDRESS for
    a response outside the higher half; no answer is not an error."""
    response = _response(requests.executable_address)
    if response == 0:
        return errors.OK
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    info.kernel_phys_base = rawmem.load_u64(response + 8)
    info.kernel_virt_base = rawmem.load_u64(response + 16)
    return errors.OK


def _read_modules(requests, info):
    """Records up to MAX_MODULES modules (virtual address and size).
    Returns E_BAD_SIZE for an absurd module count, E_BAD_ADDRESS for a
    pointer outside the higher half; no answer is not an error."""
    response = _response(requests.module)
    if response == 0:
        return errors.OK
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    count = rawmem.load_u64(response + 8)
    if count < 0 or count > MAX_ENTRY_COUNT:
        return errors.E_BAD_SIZE
    if count == 0:
        return errors.OK
    array = rawmem.load_u64(response + 16)
    if not _higher_half(array):
        return errors.E_BAD_ADDRESS
    i = 0
    while i < count and info.module_count < MAX_MODULES:
        module = rawmem.load_u64(array + 8 * i)
        if not _higher_half(module):
            return errors.E_BAD_ADDRESS
        info.add_module(rawmem.load_u64(module + LIMINE_FILE_ADDRESS),
                        rawmem.load_u64(module + LIMINE_FILE_SIZE))
        i += 1
    return errors.OK


def _read_rsdp(requests, info):
    """Sets info.rsdp to the RSDP's physical address: Limine gives a
    physical address in base revision 3 and an HHDM one otherwise, so a
    higher-half answer has the HHDM offset taken off.  Returns
    E_BAD_ADDRESS for a response outside the higher half."""
    response = _response(requests.rsdp)
    if response == 0:
        return errors.OK
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    address = rawmem.load_u64(response + 8)
    if _higher_half(address):
        address = address - info.hhdm_offset
        if address < 0:
            return errors.E_BAD_ADDRESS
    info.rsdp = address
    return errors.OK


def _read_stack_size(requests, info):
    """Sets info.stack_size: what the stack size request asked for when
    Limine answered it, else the protocol's 64 KiB minimum.  Returns 0."""
    request = requests.stack_size
    if _response(request) != 0:
        info.stack_size = rawmem.load_u64(request + STACK_SIZE_FIELD)
    else:
        info.stack_size = DEFAULT_STACK_SIZE
    return errors.OK


def _read_bootloader_info(requests, info):
    """Copies the bootloader's name.  Returns E_BAD_ADDRESS for a pointer
    outside the higher half; no answer is not an error."""
    response = _response(requests.bootloader_info)
    if response == 0:
        return errors.OK
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    name = rawmem.load_u64(response + 8)
    if name != 0 and not _higher_half(name):
        return errors.E_BAD_ADDRESS
    info.set_bootloader_from(name, MAX_NAME)
    return errors.OK


def _read_cmdline(requests, info):
    """Copies the kernel command line from the executable cmdline answer,
    or else from the executable file's string.  Returns E_BAD_ADDRESS for
    a pointer outside the higher half; no answer is not an error."""
    response = _response(requests.executable_cmdline)
    if response != 0:
        if not _higher_half(response):
            return errors.E_BAD_ADDRESS
        return _copy_cmdline(rawmem.load_u64(response + 8), info)
    response = _response(requests.executable_file)
    if response != 0:
        if not _higher_half(response):
            return errors.E_BAD_ADDRESS
        file = rawmem.load_u64(response + 8)
        if not _higher_half(file):
            return errors.E_BAD_ADDRESS
        return _copy_cmdline(rawmem.load_u64(file + LIMINE_FILE_STRING), info)
    return errors.OK


def _read_dtb(requests, info):
    """Sets info.dtb_phys to the device tree's physical address (the
    answer is an HHDM address; read_boot_info parses the blob on the ports).
    Returns E_BAD_ADDRESS for a pointer outside the higher half or below
    the HHDM; no answer (BIOS, x86_64 under UEFI) is not an error."""
    response = _response(requests.dtb)
    if response == 0:
        return errors.OK
    if not _higher_half(response):
        return errors.E_BAD_ADDRESS
    blob = rawmem.load_u64(response + 8)
    if blob == 0:
        return errors.OK
    if not _higher_half(blob) or blob - info.hhdm_offset < 0:
        return errors.E_BAD_ADDRESS
    info.dtb_phys = blob - info.hhdm_offset
    return errors.OK


def _copy_cmdline(string, info):
    """Copies the command line at string (NULL: none).  Returns
    E_BAD_ADDRESS for a pointer outside the higher half, else 0."""
    if string == 0:
        return errors.OK
    if not _higher_half(string):
        return errors.E_BAD_ADDRESS
    info.set_cmdline_from(string, MAX_CMDLINE)
    return errors.OK


# What parse_limine reads, in this order; each reader takes (requests, info)
# and returns 0 or the error parse_limine stops with.
_READERS = unrolling_iterable([
    _read_hhdm, _read_memmap, _read_framebuffer, _read_executable_address,
    _read_modules, _read_rsdp, _read_stack_size, _read_bootloader_info,
    _read_cmdline, _read_dtb,
])
