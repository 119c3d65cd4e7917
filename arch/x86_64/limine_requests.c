/* The kernel's Limine requests (Limine boot protocol, PROTOCOL.md).
 *
 * Limine finds them between the start and end markers, fills in each
 * request's response pointer, and lowers the last word of the base
 * revision tag to 0 when it supports that revision. The RPython kernel
 * reads them through elyz_limine_request_table (order: ELYZ_LIMINE_REQ_*
 * in limine_ids.h, mirrored in elyz/boot/limine.py).
 */
#include <stdint.h>
#include "boot.h"
#include "limine_ids.h"

#define USED __attribute__((used))
#define REQUEST __attribute__((used, section(".limine_requests"), aligned(8)))

struct request { uint64_t id[4]; uint64_t revision; void *response; };
struct request_with_arg { uint64_t id[4]; uint64_t revision; void *response; uint64_t arg; };

USED __attribute__((section(".limine_requests_start"), aligned(8)))
static volatile uint64_t requests_start_marker[4] = ELYZ_LIMINE_REQUESTS_START_MARKER;

REQUEST static volatile uint64_t base_revision[3] = ELYZ_LIMINE_BASE_REVISION(ELYZ_LIMINE_WANTED_REVISION);

#define LIMINE_REQUEST(name, ids) \
    REQUEST static volatile struct request name = { .id = ids, .revision = 0, .response = 0 }

LIMINE_REQUEST(bootloader_info_request, ELYZ_LIMINE_BOOTLOADER_INFO_ID);
LIMINE_REQUEST(executable_cmdline_request, ELYZ_LIMINE_EXECUTABLE_CMDLINE_ID);
LIMINE_REQUEST(hhdm_request, ELYZ_LIMINE_HHDM_ID);
LIMINE_REQUEST(framebuffer_request, ELYZ_LIMINE_FRAMEBUFFER_ID);
LIMINE_REQUEST(memmap_request, ELYZ_LIMINE_MEMMAP_ID);
LIMINE_REQUEST(executable_address_request, ELYZ_LIMINE_EXECUTABLE_ADDRESS_ID);
LIMINE_REQUEST(module_request, ELYZ_LIMINE_MODULE_ID);
LIMINE_REQUEST(rsdp_request, ELYZ_LIMINE_RSDP_ID);
LIMINE_REQUEST(executable_file_request, ELYZ_LIMINE_EXECUTABLE_FILE_ID);
REQUEST static volatile struct request_with_arg stack_size_request = {
    .id = ELYZ_LIMINE_STACK_SIZE_ID, .revision = 0, .response = 0,
    .arg = ELYZ_BOOT_STACK_SIZE };

USED __attribute__((section(".limine_requests_end"), aligned(8)))
static volatile uint64_t requests_end_marker[2] = ELYZ_LIMINE_REQUESTS_END_MARKER;

/* Addresses of the requests, in ELYZ_LIMINE_REQ_* order. */
static volatile void *const request_table[ELYZ_LIMINE_REQ_COUNT] = {
    [ELYZ_LIMINE_REQ_BASE_REVISION] = base_revision,
    [ELYZ_LIMINE_REQ_BOOTLOADER_INFO] = &bootloader_info_request,
    [ELYZ_LIMINE_REQ_EXECUTABLE_CMDLINE] = &executable_cmdline_request,
    [ELYZ_LIMINE_REQ_STACK_SIZE] = &stack_size_request,
    [ELYZ_LIMINE_REQ_HHDM] = &hhdm_request,
    [ELYZ_LIMINE_REQ_FRAMEBUFFER] = &framebuffer_request,
    [ELYZ_LIMINE_REQ_MEMMAP] = &memmap_request,
    [ELYZ_LIMINE_REQ_EXECUTABLE_ADDRESS] = &executable_address_request,
    [ELYZ_LIMINE_REQ_MODULE] = &module_request,
    [ELYZ_LIMINE_REQ_RSDP] = &rsdp_request,
    [ELYZ_LIMINE_REQ_EXECUTABLE_FILE] = &executable_file_request,
};

long elyz_limine_request_table_address(void)
{
    (void)requests_start_marker;
    (void)requests_end_marker;
    return (long)request_table;
}
