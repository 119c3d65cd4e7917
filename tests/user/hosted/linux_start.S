/* TEST-ONLY: the Linux entry of the hosted user image (tests/user).
 * Linux starts a static executable with rsp -> argc, argv[], NULL, envp[];
 * elyz_hosted_start turns argv into an Elyz args block and enters the real
 * runtime exactly as the kernel would (elyz_user_start, rdx = 0). */
    .section .text._start,"ax",@progbits
    .globl _start
    .type _start,@function
_start:
    xor %ebp, %ebp
    mov %rsp, %rdi
    and $-16, %rsp
    call elyz_hosted_start
    ud2
    .size _start, .-_start

    .section .note.GNU-stack,"",@progbits
