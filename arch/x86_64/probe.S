/* Elyz x86_64 recoverable memory probes.
 *
 * long elyz_probe_read(long addr)     the 64-bit word at addr
 * long elyz_probe_read32(long addr)   the 32-bit word at addr, zero-extended
 *     (device registers such as the local APIC's take 32-bit accesses only)
 *
 * Each probe's load is the instruction at its *_fault_insn label.  When it
 * page-faults, the trap handler (elyz/kernel/traps.py) records the fault
 * and resumes at the matching *_fixup label, which returns
 * PROBE_FAULT_VALUE (0) instead; callers tell the two cases apart through
 * the recorded fault, not the value.
 *
 * elyz_probe_fixup_table lists (faulting instruction, fixup) pairs of
 * 8-byte addresses, ended by a (0, 0) pair; cpu_tables.c searches it.
 */

#define PROBE_FAULT_VALUE 0

    .text
    .code64
    .balign 16
    .globl elyz_probe_read, elyz_probe_read_fault_insn, elyz_probe_read_fixup
elyz_probe_read:
elyz_probe_read_fault_insn:
    movq (%rdi), %rax
    ret
elyz_probe_read_fixup:
    movq $PROBE_FAULT_VALUE, %rax
    ret

    .balign 16
    .globl elyz_probe_read32, elyz_probe_read32_fault_insn, elyz_probe_read32_fixup
elyz_probe_read32:
elyz_probe_read32_fault_insn:
    movl (%rdi), %eax
    ret
elyz_probe_read32_fixup:
    movq $PROBE_FAULT_VALUE, %rax
    ret

    .section .rodata
    .balign 8
    .globl elyz_probe_fixup_table
elyz_probe_fixup_table:
    .quad elyz_probe_read_fault_insn, elyz_probe_read_fixup
    .quad elyz_probe_read32_fault_insn, elyz_probe_read32_fixup
    .quad 0, 0
