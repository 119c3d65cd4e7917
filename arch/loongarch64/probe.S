/* Elyz loongarch64 recoverable memory probes (the contract of
 * arch/x86_64/probe.S): elyz_probe_read(addr), elyz_probe_read32(addr),
 * elyz_probe_write(addr, value) return the value read (or 1 after the
 * store), or PROBE_FAULT_VALUE (0) when the access faulted: the trap
 * handler finds the faulting pc (ERA) in elyz_probe_fixup_table and
 * resumes at its fixup.
 */
#define PROBE_FAULT_VALUE 0

    .text
    .balign 4
    .globl elyz_probe_read, elyz_probe_read_fault_insn, elyz_probe_read_fixup
elyz_probe_read:
elyz_probe_read_fault_insn:
    ld.d $a0, $a0, 0
    jr $ra
elyz_probe_read_fixup:
    li.w $a0, PROBE_FAULT_VALUE
    jr $ra

    .globl elyz_probe_read32
elyz_probe_read32:
elyz_probe_read32_fault_insn:
    ld.wu $a0, $a0, 0
    jr $ra
elyz_probe_read32_fixup:
    li.w $a0, PROBE_FAULT_VALUE
    jr $ra

    .globl elyz_probe_write
elyz_probe_write:
elyz_probe_write_fault_insn:
    st.d $a1, $a0, 0
    li.w $a0, 1
    jr $ra
elyz_probe_write_fixup:
    li.w $a0, PROBE_FAULT_VALUE
    jr $ra

    .section .rodata
    .balign 8
    .globl elyz_probe_fixup_table
elyz_probe_fixup_table:
    .dword elyz_probe_read_fault_insn, elyz_probe_read_fixup
    .dword elyz_probe_read32_fault_insn, elyz_probe_read32_fixup
    .dword elyz_probe_write_fault_insn, elyz_probe_write_fixup
    .dword 0, 0
