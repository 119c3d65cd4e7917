"""What the port machine modules (aarch64.py, riscv64.py, loongarch64.py)
share: the kinds classify(frame) returns."""

TRAP_OTHER = 0              # an exception the kernel does not handle: dump, panic
TRAP_TIMER = 1              # the tick
TRAP_BREAKPOINT = 2         # ebreak / brk / break: count it, step over it
TRAP_PAGE_FAULT = 3         # a memory access fault with a fault address
TRAP_EXTERNAL = 4           # a device interrupt (none is enabled yet)
