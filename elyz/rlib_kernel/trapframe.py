"""The x86_64 trap frame: what arch/x86_64/trap.S saves for every trap.

API (offsets are bytes from the frame address rpy_trap receives):

    R15 R14 R13 R12 R11 R10 R9 R8 RBP RDI RSI RDX RCX RBX RAX
                        general registers, as the trapped code had them
    VECTOR              interrupt vector (0-255), pushed by the stub
    ERROR_CODE          the CPU's error code, 0 for vectors without one
    RIP CS RFLAGS RSP SS
                        the interrupt frame the CPU pushed (iretq pops it)
    FRAME_SIZE          176 bytes (a multiple of 16: the stack stays aligned)
    SYSCALL_VECTOR      the VECTOR of a system-call frame (arch/x86_64/syscall.S)
    SYSCALL_NUMBER SYSCALL_ARGUMENTS SYSCALL_RESULT   where the registers of
                        the system-call convention are
    from_user(frame) -> True when the trapped code ran in ring 3
    REGISTER_NAMES, REGISTER_OFFSETS   the general registers in dump order
    read(frame, offset) -> value       write(frame, offset, value)

Layout (lowest address first; must match the push order in trap.S):

      0 r15     32 r11     64 rbp    96 rcx    128 error code  160 rsp
      8 r14     40 r10     72 rdi   104 rbx    136 rip         168 ss
     16 r13     48 r9      80 rsi   112 rax    144 cs
     24 r12     56 r8      88 rdx   120 vector 152 rflags

A handler may change any saved general register, RIP, RFLAGS and RSP
before it returns: trap.S restores them from the frame.  CS and SS must
stay valid selectors.
"""

from elyz.rlib_kernel import rawmem

WORD = 8

R15 = 0 * WORD
R14 = 1 * WORD
R13 = 2 * WORD
R12 = 3 * WORD
R11 = 4 * WORD
R10 = 5 * WORD
R9 = 6 * WORD
R8 = 7 * WORD
RBP = 8 * WORD
RDI = 9 * WORD
RSI = 10 * WORD
RDX = 11 * WORD
RCX = 12 * WORD
RBX = 13 * WORD
RAX = 14 * WORD
VECTOR = 15 * WORD
ERROR_CODE = 16 * WORD
RIP = 17 * WORD
CS = 18 * WORD
RFLAGS = 19 * WORD
RSP = 20 * WORD
SS = 21 * WORD
FRAME_SIZE = 22 * WORD

# The general registers in the order a register dump shows them.
REGISTER_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'r8',
                  'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']
REGISTER_OFFSETS = [RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8,
                    R9, R10, R11, R12, R13, R14, R15]

RFLAGS_INTERRUPT_ENABLE = 1 << 9

# The VECTOR word of a frame that arch/x86_64/syscall.S built for a system
# call (no IDT vector has this number).
SYSCALL_VECTOR = 256
# Where the system-call arguments are (elyz/abi/syscalls.py), in order.
SYSCALL_ARGUMENTS = (RDI, RSI, RDX, R10, R8, R9)      # a tuple: constant-folded
SYSCALL_NUMBER = RAX
SYSCALL_RESULT = RAX
PRIVILEGE_MASK = 3              # the RPL bits of the saved cs


def from_user(frame):
    """Returns True when the frame was saved in user mode (ring 3)."""
    return (read(frame, CS) & PRIVILEGE_MASK) != 0


def read(frame, offset):
    """Returns the saved word at frame + offset; never fails on a real frame."""
    return rawmem.load_u64(frame + offset)


def write(frame, offset, value):
    """Replaces the saved word at frame + offset (restored on return from the trap)."""
    rawmem.store_u64(frame + offset, value)
