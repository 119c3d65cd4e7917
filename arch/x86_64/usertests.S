/* Tiny user-mode programs for the kernel's self-tests (user_selftests.py):
 * position-independent x86_64 code that the kernel copies into a
 * MemoryObject, maps read+execute at a user address and runs in ring 3.
 * Each lies between elyz_utest_<name> and elyz_utest_<name>_end, in
 * .rodata (the kernel only copies the bytes).  System-call numbers: the
 * table of elyz/abi/syscalls.py (tests/toolchain checks these defines).
 */
#define SYS_DEBUG_WRITE 0
#define SYS_EXIT        1
#define SYS_YIELD       2
#define SYS_SLEEP       3
#define SYS_CLOCK       4
#define SYS_ALLOCATE    10
#define SYS_RELEASE     14
#define SYS_MAP         15
#define PROT_RW         3
#define RIGHTS_ALL      0x7f
#define HEAP_VA         0x10000000

.macro sys number
    movl $\number, %eax
    syscall
.endm

.macro program name
    .balign 16
    .globl elyz_utest_\name, elyz_utest_\name\()_end
elyz_utest_\name:
.endm

.macro end_program name
elyz_utest_\name\()_end:
.endm

    .section .rodata
    .code64

/* hello: writes a line, reads the clock, yields, exits 42. */
program hello
    leaq 1f(%rip), %rdi
    movl $(2f - 1f), %esi
    sys SYS_DEBUG_WRITE
    sys SYS_CLOCK
    sys SYS_YIELD
    movl $42, %edi
    sys SYS_EXIT
1:  .ascii "hello from ring 3\n"
2:
end_program hello

/* Faults: each must kill only its own process. */
program fault_null
    movq $0, %rax
    movq $1, (%rax)
end_program fault_null

program fault_privileged
    hlt
end_program fault_privileged

program fault_ud
    ud2
end_program fault_ud

program fault_divide
    xorl %ecx, %ecx
    movl $1, %eax
    cltd
    idivl %ecx
end_program fault_divide

program fault_kernel_read             /* the kernel half is supervisor-only */
    movabsq $0xffffffff80100000, %rax
    movq (%rax), %rax
end_program fault_kernel_read

/* bad_pointers: debug_write of a kernel address and of an unmapped one
 * must both return E_FAULT (-22); exit 0 when they did, 1 otherwise. */
program bad_pointers
    movabsq $0xffffffff80100000, %rdi
    movl $16, %esi
    sys SYS_DEBUG_WRITE
    cmpq $-22, %rax
    jne 1f
    movq $0x20000000, %rdi
    movl $16, %esi
    sys SYS_DEBUG_WRITE
    cmpq $-22, %rax
    jne 1f
    movl $999, %eax                     /* no such call: E_NOSYS (-23) */
    syscall
    cmpq $-23, %rax
    jne 1f
    xorl %edi, %edi
    sys SYS_EXIT
1:  movl $1, %edi
    sys SYS_EXIT
end_program bad_pointers

/* spin: never ends by itself (preemption must let others run). */
program spin
1:  jmp 1b
end_program spin

/* sleeper: sleeps 5 ticks, exits with the ticks that passed. */
program sleeper
    sys SYS_CLOCK
    movq %rax, %rbx
    movl $5, %edi
    sys SYS_SLEEP
    sys SYS_CLOCK
    subq %rbx, %rax
    movq %rax, %rdi
    sys SYS_EXIT
end_program sleeper

/* memory: allocate 4 KiB, map it, write and read it back, release it, then
 * touch it again: the release unmapped it, so that faults (exit 142). */
program memory
    movl $4096, %edi
    movl $RIGHTS_ALL, %esi
    sys SYS_ALLOCATE
    movq %rax, %rbx                     /* the descriptor */
    movq %rbx, %rdi
    movl $HEAP_VA, %esi
    xorl %edx, %edx
    movl $4096, %r10d
    movl $PROT_RW, %r8d
    sys SYS_MAP
    testq %rax, %rax
    jnz 1f
    movq $0x1234, HEAP_VA
    cmpq $0x1234, HEAP_VA
    jne 1f
    movq %rbx, %rdi
    sys SYS_RELEASE
    movq HEAP_VA, %rax                  /* must fault */
1:  movl $1, %edi
    sys SYS_EXIT
end_program memory

/* fpu: keeps a value in xmm0 across many yields; exits 0 when it stayed,
 * 1 when another process's SSE state leaked in.  rdi = the value's seed. */
program fpu
    movq %rdi, %xmm0
    movq %rdi, %r12
    movl $200, %r13d
1:  sys SYS_YIELD
    movq %xmm0, %rax
    cmpq %r12, %rax
    jne 2f
    decl %r13d
    jnz 1b
    xorl %edi, %edi
    sys SYS_EXIT
2:  movl $1, %edi
    sys SYS_EXIT
end_program fpu
