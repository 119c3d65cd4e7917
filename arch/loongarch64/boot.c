/* Elyz loongarch64 boot glue: from boot.S (paging on, running high) to the
 * RPython kernel.
 *
 * QEMU 7.2's virt machine hands a direct-booted kernel a device tree
 * without /memory and without /chosen bootargs (-append goes nowhere);
 * the RAM layout and any command line are in its fw_cfg device instead
 * (the file etc/memmap; FW_CFG_CMDLINE, or the file opt/org.elyz/cmdline
 * that tools/qemurun.py adds with -fw_cfg).  Like a boot loader that
 * fixes up the tree for its kernel, elyz_loongarch64_boot(dtb) adds what
 * is missing to the blob in place (QEMU gives it 1 MiB of totalsize, most
 * of it free), so the kernel's device-tree parser needs nothing special.
 * It then clears physical frame 0 (the "empty table" the TLB refill
 * handler reads through absent entries, trap.S), sets the RPython stack
 * bounds and the early bump arena behind malloc, and calls
 * rpy_kmain(PROTOCOL_DEVICETREE, dtb physical address, hhdm offset).
 *
 * elyz_fatal prints on the UART and, when the kernel asked for it
 * (elyz.exit), powers QEMU off through the GED.
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_runtime.h"

extern char boot_stack_bottom[], boot_stack_top[];
extern long rpy_kmain(long protocol, long info, long hhdm_offset);

static char early_heap[ELYZ_EARLY_HEAP_SIZE] __attribute__((aligned(4096)));

long elyz_exit_on_panic;

#define PHYS(p) ((volatile uint8_t *)(ELYZ_EARLY_HHDM + (uint64_t)(p)))

/* ------------------------------------------------------------ UART, exit */

#define UART_LSR 5
#define UART_LSR_THRE 0x20

static void console_putc(char c)
{
    volatile uint8_t *uart = PHYS(ELYZ_VIRT_UART0);
    int spins = 100000;
    while (!(uart[UART_LSR] & UART_LSR_THRE) && --spins)
        ;
    uart[0] = (uint8_t)c;
}

static void console_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') console_putc('\r');
        console_putc(*s);
    }
}

void elyz_halt_forever(void)
{
    for (;;) __asm__ volatile("csrxchg $zero, %0, 0x0\n\tidle 0" : : "r"(4L) : "memory");
}

void elyz_fatal(const char *msg)
{
    console_puts("PANIC: ");
    console_puts(msg);
    console_puts("\n");
    if (elyz_exit_on_panic)
        *PHYS(ELYZ_VIRT_GED_REG) = ELYZ_GED_SLEEP_S5;
    elyz_halt_forever();
    __builtin_unreachable();
}

void elyz_debug_putc(char c)
{
    if (c == '\n') console_putc('\r');
    console_putc(c);
}

size_t elyz_early_heap_size(void) { return sizeof early_heap; }
long elyz_early_heap_address(void) { return (long)early_heap; }

/* ------------------------------------------------- fw_cfg (docs/specs/fw_cfg.rst) */

#define FW_CFG_DATA         0x0         /* byte stream */
#define FW_CFG_SELECTOR     0x8         /* 16 bits, big endian */
#define FW_CFG_SIGNATURE    0x00
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_FILE_DIR     0x19
#define FW_CFG_NAME_SIZE    56
#define MEMMAP_RAM          1           /* hw/loongarch/virt.c memmap_add_entry */
#define MAX_MEMMAP          8
#define MAX_CMDLINE         256

static void fw_cfg_select(uint16_t key)
{
    *(volatile uint16_t *)PHYS(ELYZ_VIRT_FW_CFG + FW_CFG_SELECTOR) = __builtin_bswap16(key);
}

static uint8_t fw_cfg_byte(void) { return *PHYS(ELYZ_VIRT_FW_CFG + FW_CFG_DATA); }

static void fw_cfg_read(void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n--) *d++ = fw_cfg_byte();
}

static int fw_cfg_present(void)
{
    char sig[4];
    fw_cfg_select(FW_CFG_SIGNATURE);
    fw_cfg_read(sig, 4);
    return sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U';
}

static int same_name(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

/* Returns the selector of fw_cfg file name (its size in *size), or 0. */
static uint16_t fw_cfg_find(const char *name, uint32_t *size)
{
    uint8_t be[4];
    fw_cfg_select(FW_CFG_FILE_DIR);
    fw_cfg_read(be, 4);
    uint32_t count = (uint32_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
    for (uint32_t i = 0; i < count; i++) {
        uint8_t entry[8];
        char fname[FW_CFG_NAME_SIZE];
        fw_cfg_read(entry, 8);
        fw_cfg_read(fname, FW_CFG_NAME_SIZE);
        fname[FW_CFG_NAME_SIZE - 1] = 0;
        if (same_name(fname, name)) {
            *size = (uint32_t)entry[0] << 24 | entry[1] << 16 | entry[2] << 8 | entry[3];
            return (uint16_t)(entry[4] << 8 | entry[5]);
        }
    }
    return 0;
}

/* ------------------------------------------------------- the device tree */

#define FDT_MAGIC       0xd00dfeed
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9
#define H_TOTALSIZE     4
#define H_OFF_STRUCT    8
#define H_OFF_STRINGS   12
#define H_SIZE_STRINGS  32
#define H_SIZE_STRUCT   36

static uint8_t *fdt;

static uint32_t be32(uint32_t off)
{
    return (uint32_t)fdt[off] << 24 | fdt[off + 1] << 16 | fdt[off + 2] << 8 | fdt[off + 3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static size_t c_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

static uint32_t align4(uint32_t n) { return (n + 3) & ~3u; }

/* The offset after the name of the node token at off. */
static uint32_t after_name(uint32_t off)
{
    return align4(off + 4 + (uint32_t)c_strlen((const char *)fdt + off + 4) + 1);
}

/* The offset after the property token at off. */
static uint32_t after_prop(uint32_t off)
{
    return align4(off + 12 + be32(off + 4));
}

static int name_is(uint32_t off, const char *name, int prefix_ok)
{
    const char *s = (const char *)fdt + off + 4;
    while (*name && *s == *name) { s++; name++; }
    if (*name) return 0;
    return *s == 0 || (prefix_ok && *s == '@');
}

static int prop_named(uint32_t off, const char *name)
{
    return same_name((const char *)fdt + be32(H_OFF_STRINGS) + be32(off + 8), name);
}

/* The strings block must be the blob's last part for it to grow. */
static int blob_growable(uint32_t extra)
{
    uint32_t strings_end = be32(H_OFF_STRINGS) + be32(H_SIZE_STRINGS);
    return be32(H_OFF_STRUCT) + be32(H_SIZE_STRUCT) <= be32(H_OFF_STRINGS) &&
           strings_end + extra <= be32(H_TOTALSIZE);
}

static uint32_t string_offset(const char *name)
{
    uint32_t base = be32(H_OFF_STRINGS), size = be32(H_SIZE_STRINGS), off = 0;
    while (off < size) {
        if (same_name((const char *)fdt + base + off, name)) return off;
        off += (uint32_t)c_strlen((const char *)fdt + base + off) + 1;
    }
    size_t n = c_strlen(name) + 1;
    for (size_t i = 0; i < n; i++) fdt[base + size + i] = name[i];
    put_be32(fdt + H_SIZE_STRINGS, size + (uint32_t)n);
    return size;
}

/* Opens len bytes at struct offset off (moving the rest of the struct and
 * the strings block up). */
static void make_room(uint32_t off, uint32_t len)
{
    uint32_t end = be32(H_OFF_STRINGS) + be32(H_SIZE_STRINGS);
    for (uint32_t i = end; i > off; i--) fdt[i - 1 + len] = fdt[i - 1];
    put_be32(fdt + H_OFF_STRINGS, be32(H_OFF_STRINGS) + len);
    put_be32(fdt + H_SIZE_STRUCT, be32(H_SIZE_STRUCT) + len);
}

/* Writes a property token at off; returns its length. */
static uint32_t put_prop(uint8_t *at, uint32_t nameoff, const void *value, uint32_t len)
{
    put_be32(at, FDT_PROP);
    put_be32(at + 4, len);
    put_be32(at + 8, nameoff);
    const uint8_t *v = value;
    uint32_t padded = align4(len);
    for (uint32_t i = 0; i < padded; i++) at[12 + i] = i < len ? v[i] : 0;
    return 12 + padded;
}

static uint8_t scratch[1024];

static void add_memory_node(const uint64_t *base, const uint64_t *size, int count,
                            uint32_t root_end)
{
    static const char node_name[] = "memory@0";
    static const char memory[] = "memory";
    uint8_t reg[MAX_MEMMAP * 16];
    for (int i = 0; i < count; i++) {
        put_be32(reg + 16 * i, (uint32_t)(base[i] >> 32));
        put_be32(reg + 16 * i + 4, (uint32_t)base[i]);
        put_be32(reg + 16 * i + 8, (uint32_t)(size[i] >> 32));
        put_be32(reg + 16 * i + 12, (uint32_t)size[i]);
    }
    uint32_t extra = 64 + 16 * count + 32;
    if (!blob_growable(extra)) return;
    uint32_t device_type = string_offset("device_type");
    uint32_t reg_name = string_offset("reg");
    uint32_t n = 0;
    put_be32(scratch, FDT_BEGIN_NODE);
    n = 4;
    for (size_t i = 0; i < sizeof node_name; i++) scratch[n + i] = node_name[i];
    n = align4(n + sizeof node_name);
    n += put_prop(scratch + n, device_type, memory, sizeof memory);
    n += put_prop(scratch + n, reg_name, reg, 16 * count);
    put_be32(scratch + n, FDT_END_NODE);
    n += 4;
    make_room(root_end, n);
    for (uint32_t i = 0; i < n; i++) fdt[root_end + i] = scratch[i];
}

static void add_bootargs(uint32_t props, const char *cmdline, uint32_t len)
{
    if (len + 1 > sizeof scratch - 16 || !blob_growable(len + 32)) return;
    uint32_t name = string_offset("bootargs");
    uint8_t value[MAX_CMDLINE + 1];
    for (uint32_t i = 0; i < len; i++) value[i] = cmdline[i];
    value[len] = 0;
    uint32_t n = put_prop(scratch, name, value, len + 1);
    make_room(props, n);
    for (uint32_t i = 0; i < n; i++) fdt[props + i] = scratch[i];
}

/* Reads the command line from fw_cfg into buf; returns its length (0: none). */
static uint32_t fw_cfg_cmdline(char *buf)
{
    uint8_t le[4];
    uint32_t size = 0;
    fw_cfg_select(FW_CFG_CMDLINE_SIZE);
    fw_cfg_read(le, 4);
    size = (uint32_t)le[0] | le[1] << 8 | le[2] << 16 | (uint32_t)le[3] << 24;
    if (size > 0 && size <= MAX_CMDLINE) {
        fw_cfg_select(FW_CFG_CMDLINE_DATA);
    } else {
        uint16_t key = fw_cfg_find("opt/org.elyz/cmdline", &size);
        if (key == 0 || size == 0 || size > MAX_CMDLINE) return 0;
        fw_cfg_select(key);
    }
    fw_cfg_read(buf, size);
    uint32_t len = 0;
    while (len < size && buf[len]) len++;
    return len;
}

/* Adds /memory (from etc/memmap) and /chosen bootargs when absent. */
static void complete_devicetree(long dtb)
{
    fdt = (uint8_t *)PHYS(dtb);
    if (be32(0) != FDT_MAGIC || !fw_cfg_present()) return;
    uint32_t off = be32(H_OFF_STRUCT), end = off + be32(H_SIZE_STRUCT);
    uint32_t chosen_props = 0, root_end = 0;
    int depth = 0, has_memory = 0, has_bootargs = 0, in_chosen = 0;
    while (off < end) {
        uint32_t token = be32(off);
        if (token == FDT_BEGIN_NODE) {
            depth++;
            in_chosen = depth == 2 && name_is(off, "chosen", 0);
            if (depth == 2 && name_is(off, "memory", 1)) has_memory = 1;
            off = after_name(off);
            if (in_chosen) chosen_props = off;
        } else if (token == FDT_END_NODE) {
            if (depth == 1) root_end = off;
            depth--;
            in_chosen = 0;
            off += 4;
        } else if (token == FDT_PROP) {
            if (in_chosen && prop_named(off, "bootargs")) has_bootargs = 1;
            off = after_prop(off);
        } else if (token == FDT_NOP) {
            off += 4;
        } else {
            break;
        }
    }
    if (root_end == 0) return;
    if (!has_bootargs && chosen_props != 0) {
        char cmdline[MAX_CMDLINE + 1];
        uint32_t len = fw_cfg_cmdline(cmdline);
        if (len > 0) {
            add_bootargs(chosen_props, cmdline, len);
            if (chosen_props < root_end) root_end += be32(H_SIZE_STRUCT) - (end - be32(H_OFF_STRUCT));
        }
    }
    if (!has_memory) {
        uint32_t size = 0;
        uint16_t key = fw_cfg_find("etc/memmap", &size);
        if (key == 0) return;
        uint64_t base[MAX_MEMMAP], length[MAX_MEMMAP];
        int count = 0;
        fw_cfg_select(key);
        for (uint32_t i = 0; i + 24 <= size && count < MAX_MEMMAP; i += 24) {
            uint64_t entry[3];
            fw_cfg_read(entry, 24);
            if ((uint32_t)entry[2] == MEMMAP_RAM && entry[1] != 0) {
                base[count] = entry[0];
                length[count] = entry[1];
                count++;
            }
        }
        if (count > 0) add_memory_node(base, length, count, root_end);
    }
}

void elyz_loongarch64_boot(long dtb)
{
    volatile uint64_t *frame0 = (volatile uint64_t *)PHYS(0);
    for (int i = 0; i < 4096 / 8; i++) frame0[i] = 0;
    complete_devicetree(dtb);
    elyz_stack_bounds(boot_stack_bottom, boot_stack_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_bump_init(early_heap, sizeof early_heap);
    rpy_kmain(ELYZ_BOOT_DEVICETREE, dtb, (long)ELYZ_EARLY_HHDM);
    console_puts("Elyz: kernel returned; halting.\n");
    elyz_halt_forever();
}
