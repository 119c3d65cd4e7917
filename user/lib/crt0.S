/* _start: where the kernel enters a user program (docs/abi.md, "Program
 * start").  On entry:
 *     rsp   16-byte aligned: the top of the stack (the kernel may have put
 *           the args block above it)
 *     rdi   the address of the args block (0 when there is none)
 *     rsi   its length in bytes
 *     rdx   the bytes of stack mapped below rsp, or 0: at least
 *           ELYZ_DEFAULT_STACK_SIZE (64 KiB)
 *     other registers 0 (not relied on), RFLAGS.DF clear
 * It calls elyz_user_start(args, length, stack_size, stack_top) (start.c),
 * which never returns: it ends with the exit system call. */
    .section .text._start,"ax",@progbits
    .globl _start
    .type _start,@function
_start:
    xor %ebp, %ebp              /* the outermost frame: ends backtraces */
    mov %rsp, %rcx              /* stack_top */
    and $-16, %rsp              /* already aligned by the contract; cheap */
    call elyz_user_start
    ud2
    .size _start, .-_start

    .section .note.GNU-stack,"",@progbits
