"""The machine module of the port being built (KARCH): aarch64, riscv64 or
loongarch64; None on x86_64, whose kernel uses cpu.py, traps.py and the
APIC directly.  See elyz/rlib_kernel/riscv64.py for the interface."""

from elyz.rlib_kernel.karch import KARCH

if KARCH == 'riscv64':
    from elyz.rlib_kernel import riscv64 as machine
elif KARCH == 'aarch64':
    from elyz.rlib_kernel import aarch64 as machine
elif KARCH == 'loongarch64':
    from elyz.rlib_kernel import loongarch64 as machine
else:
    machine = None
