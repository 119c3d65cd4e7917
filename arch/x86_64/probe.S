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
 * long elyz_probe_write(long addr, long value)
 *     stores the 64-bit value at addr; returns 1, or PROBE_FAULT_VALUE (0)
 *     when the store faulted (a read-only page: the self-tests prove W^X
 *     and CR0.WP with it, writing back the word they read first)
 *
 * elyz_probe_fixup_table lists (faulting instruction, fixup) pairs of
 * 8-byte addresses, ended by a (0, 0) pair; traps.py searches it through
 * elyz_probe_fixup_for.
 *
 * long elyz_user_copy(long dst, long src, long n)
 *     copies n bytes (rep movsb); returns 0, or the bytes not copied when a
 *     page fault stopped it (the fixup reads what rcx still counts).  The
 *     copies to and from user memory go through it (elyz/mm/usercopy.py).
 *
 * long elyz_probe_call(long target)
 *     calls the code at target (which must return 0 or a value, with no
 *     arguments); when fetching its first instruction page-faults (SMEP, NX,
 *     not present), the trap handler sees rip == elyz_probe_call_target and
 *     resumes at elyz_probe_call_fixup with the return address popped, so
 *     the probe returns PROBE_FAULT_VALUE.  elyz_probe_call_target is 0
 *     while no call probe runs.
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

    .balign 16
    .globl elyz_probe_write, elyz_probe_write_fault_insn, elyz_probe_write_fixup
elyz_probe_write:
elyz_probe_write_fault_insn:
    movq %rsi, (%rdi)
    movq $1, %rax
    ret
elyz_probe_write_fixup:
    movq $PROBE_FAULT_VALUE, %rax
    ret

    .balign 16
    .globl elyz_user_copy, elyz_user_copy_fault_insn, elyz_user_copy_fixup
elyz_user_copy:
    movq %rdx, %rcx
elyz_user_copy_fault_insn:
    rep movsb
    xorl %eax, %eax
    ret
elyz_user_copy_fixup:
    movq %rcx, %rax
    ret

    .balign 16
    .globl elyz_probe_call, elyz_probe_call_fixup
elyz_probe_call:
    movq %rdi, elyz_probe_call_target(%rip)
    call *%rdi
    movq $0, elyz_probe_call_target(%rip)
    ret
elyz_probe_call_fixup:
    movq $0, elyz_probe_call_target(%rip)
    movq $PROBE_FAULT_VALUE, %rax
    ret

    .bss
    .balign 8
    .globl elyz_probe_call_target
elyz_probe_call_target:
    .quad 0

    .section .rodata
    .balign 8
    .globl elyz_probe_fixup_table
elyz_probe_fixup_table:
    .quad elyz_probe_read_fault_insn, elyz_probe_read_fixup
    .quad elyz_probe_read32_fault_insn, elyz_probe_read32_fixup
    .quad elyz_probe_write_fault_insn, elyz_probe_write_fixup
    .quad elyz_user_copy_fault_insn, elyz_user_copy_fixup
    .quad 0, 0
