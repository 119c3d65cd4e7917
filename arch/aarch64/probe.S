/* Elyz aarch64 recoverable memory probes (the contract of
 * arch/x86_64/probe.S): elyz_probe_read(addr), elyz_probe_read32(addr),
 * elyz_probe_write(addr, value) return the value read (or 1 after the
 * store), or PROBE_FAULT_VALUE (0) when the access faulted: the trap
 * handler finds the faulting pc in elyz_probe_fixup_table and resumes at
 * its fixup.
 */
#define PROBE_FAULT_VALUE 0

    .text
    .balign 4
    .globl elyz_probe_read, elyz_probe_read_fault_insn, elyz_probe_read_fixup
elyz_probe_read:
elyz_probe_read_fault_insn:
    ldr x0, [x0]
    ret
elyz_probe_read_fixup:
    mov x0, #PROBE_FAULT_VALUE
    ret

    .globl elyz_probe_read32
elyz_probe_read32:
elyz_probe_read32_fault_insn:
    ldr w0, [x0]
    ret
elyz_probe_read32_fixup:
    mov x0, #PROBE_FAULT_VALUE
    ret

    .globl elyz_probe_write
elyz_probe_write:
elyz_probe_write_fault_insn:
    str x1, [x0]
    mov x0, #1
    ret
elyz_probe_write_fixup:
    mov x0, #PROBE_FAULT_VALUE
    ret

    .section .rodata
    .balign 8
    .globl elyz_probe_fixup_table
elyz_probe_fixup_table:
    .quad elyz_probe_read_fault_insn, elyz_probe_read_fixup
    .quad elyz_probe_read32_fault_insn, elyz_probe_read32_fixup
    .quad elyz_probe_write_fault_insn, elyz_probe_write_fixup
    .quad 0, 0
