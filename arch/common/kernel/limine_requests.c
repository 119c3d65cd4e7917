/* The kernel's Limine requests (Limine boot protocol, PROTOCOL.md), the
 * same file for every architecture Limine loads Elyz on (x86_64, aarch64,
 * riscv64).
 *
 * Limine finds them between the start and end markers, fills in each
 * request's response pointer, and lowers the last word of the base
 * revision tag to 0 when it supports that revision. The RPython kernel
 * reads them through request_table (layout: limine_ids.h, read by
 * elyz/boot/limine.py).
 *
 * A port whose ELF entry is the physical address QEMU's -kernel jumps to
 * (aarch64, riscv64) defines ELYZ_LIMINE_ENTRY in its boot.h: the entry
 * point request then has Limine enter there instead, at a virtual address
 * with Limine's page tables on.
 */
#include <stdint.h>
#include "boot.h"
#include "limine_ids.h"

#define USED __attribute__((used))
#define REQUEST __attribute__((used, section(".limine_requests"), aligned(8)))

struct request { uint64_t id[4]; uint64_t revision; void *response; };
struct request_with_arg { uint64_t id[4]; uint64_t revision; void *response; uint64_t arg; };

/* The base revision this kernel is written against: 2, the highest that
 * every Limine from 8.0 on honours (Limine 8.0-8.2 stop at 2: asked for 3,
 * they load with 2 and leave the tag's third word at 3, which the parser
 * would refuse).  Newer Limine still honours 2 on x86-64.  Under 2 the HHDM
 * also covers the first 4 GiB (LAPIC/IOAPIC MMIO included) and the RSDP
 * address is an HHDM one; elyz/boot/limine.py takes either form. */
#define WANTED_BASE_REVISION 2

USED __attribute__((section(".limine_requests_start"), aligned(8)))
static volatile uint64_t requests_start_marker[4] = {
    ELYZ_LIMINE_REQUESTS_START_MARKER_0, ELYZ_LIMINE_REQUESTS_START_MARKER_1,
    ELYZ_LIMINE_REQUESTS_START_MARKER_2, ELYZ_LIMINE_REQUESTS_START_MARKER_3 };

REQUEST static volatile uint64_t base_revision[3] = {
    ELYZ_LIMINE_BASE_REVISION_MAGIC_0, ELYZ_LIMINE_BASE_REVISION_MAGIC_1, WANTED_BASE_REVISION };

#define LIMINE_REQUEST(name, ids) \
    REQUEST static volatile struct request name = { .id = ids, .revision = 0, .response = 0 }

LIMINE_REQUEST(bootloader_info_request, ELYZ_LIMINE_BOOTLOADER_INFO_REQUEST_ID);
LIMINE_REQUEST(executable_cmdline_request, ELYZ_LIMINE_EXECUTABLE_CMDLINE_REQUEST_ID);
LIMINE_REQUEST(hhdm_request, ELYZ_LIMINE_HHDM_REQUEST_ID);
LIMINE_REQUEST(framebuffer_request, ELYZ_LIMINE_FRAMEBUFFER_REQUEST_ID);
LIMINE_REQUEST(memmap_request, ELYZ_LIMINE_MEMMAP_REQUEST_ID);
LIMINE_REQUEST(executable_address_request, ELYZ_LIMINE_EXECUTABLE_ADDRESS_REQUEST_ID);
LIMINE_REQUEST(module_request, ELYZ_LIMINE_MODULE_REQUEST_ID);
LIMINE_REQUEST(rsdp_request, ELYZ_LIMINE_RSDP_REQUEST_ID);
LIMINE_REQUEST(executable_file_request, ELYZ_LIMINE_EXECUTABLE_FILE_REQUEST_ID);
/* The device tree (aarch64, riscv64: where the UART, the interrupt
 * controller and the timebase are); Limine answers it only under UEFI. */
LIMINE_REQUEST(dtb_request, ELYZ_LIMINE_DTB_REQUEST_ID);
#ifdef ELYZ_LIMINE_ENTRY
extern char ELYZ_LIMINE_ENTRY[];
REQUEST static volatile struct request_with_arg entry_point_request = {
    .id = ELYZ_LIMINE_ENTRY_POINT_REQUEST_ID, .revision = 0, .response = 0,
    .arg = (uint64_t)ELYZ_LIMINE_ENTRY };
#define ENTRY_POINT_REQUEST ((uint64_t)&entry_point_request)
#else
#define ENTRY_POINT_REQUEST 0
#endif
REQUEST static volatile struct request_with_arg stack_size_request = {
    .id = ELYZ_LIMINE_STACK_SIZE_REQUEST_ID, .revision = 0, .response = 0,
    .arg = ELYZ_BOOT_STACK_SIZE };

USED __attribute__((section(".limine_requests_end"), aligned(8)))
static volatile uint64_t requests_end_marker[2] = {
    ELYZ_LIMINE_REQUESTS_END_MARKER_0, ELYZ_LIMINE_REQUESTS_END_MARKER_1 };

/* The table elyz/boot/limine.py reads: slot count, then the address of
   each request in ELYZ_LIMINE_SLOT_* order. */
static volatile const uint64_t request_table[1 + ELYZ_LIMINE_TABLE_SLOTS] = {
    ELYZ_LIMINE_TABLE_SLOTS,
    [1 + ELYZ_LIMINE_SLOT_BASE_REVISION] = (uint64_t)base_revision,
    [1 + ELYZ_LIMINE_SLOT_HHDM] = (uint64_t)&hhdm_request,
    [1 + ELYZ_LIMINE_SLOT_MEMMAP] = (uint64_t)&memmap_request,
    [1 + ELYZ_LIMINE_SLOT_FRAMEBUFFER] = (uint64_t)&framebuffer_request,
    [1 + ELYZ_LIMINE_SLOT_EXECUTABLE_ADDRESS] = (uint64_t)&executable_address_request,
    [1 + ELYZ_LIMINE_SLOT_MODULE] = (uint64_t)&module_request,
    [1 + ELYZ_LIMINE_SLOT_RSDP] = (uint64_t)&rsdp_request,
    [1 + ELYZ_LIMINE_SLOT_STACK_SIZE] = (uint64_t)&stack_size_request,
    [1 + ELYZ_LIMINE_SLOT_BOOTLOADER_INFO] = (uint64_t)&bootloader_info_request,
    [1 + ELYZ_LIMINE_SLOT_EXECUTABLE_CMDLINE] = (uint64_t)&executable_cmdline_request,
    [1 + ELYZ_LIMINE_SLOT_EXECUTABLE_FILE] = (uint64_t)&executable_file_request,
    [1 + ELYZ_LIMINE_SLOT_DTB] = (uint64_t)&dtb_request,
    [1 + ELYZ_LIMINE_SLOT_ENTRY_POINT] = ENTRY_POINT_REQUEST,
};

long elyz_limine_request_table_address(void)
{
    (void)requests_start_marker;
    (void)requests_end_marker;
    return (long)request_table;
}

/* The HHDM offset Limine answered with, 0 without an answer: the boot
 * stubs of the ports need it before the RPython kernel runs. */
uint64_t elyz_limine_hhdm_offset(void)
{
    volatile uint64_t *response = (volatile uint64_t *)hhdm_request.response;
    return response ? response[1] : 0;
}
