"""Simulated memory for UART tests (tests/drivers/test_uart_mmio.py,
tests/kernel/test_portmain.py).

    UartRegisters(base, size)   rawmem.SimulatedMemory with [base, base+size)
        accessible, which records every store in `stores` as (offset from
        base, size, value) and can make one status register read `busy`
        for the first `busy_reads` reads (forever when None), then `ready`:
        set `status` (its address), `busy`, `ready`, `busy_reads`;
        `status_reads` counts its reads.
    written_to(offset) -> the values stored at base + offset, in order
    text_at(offset) -> those values as a string
"""

from elyz.rlib_kernel import rawmem


class UartRegisters(rawmem.SimulatedMemory):
    def __init__(self, base, size):
        rawmem.SimulatedMemory.__init__(self)
        self.base = base
        self.add_region(base, size)
        self.stores = []
        self.status = None
        self.busy = 0
        self.ready = 0
        self.busy_reads = None
        self.status_reads = 0

    def store(self, addr, size, value):
        self.stores.append((addr - self.base, size, value))
        rawmem.SimulatedMemory.store(self, addr, size, value)

    def load(self, addr, size):
        if self.status is not None and addr == self.status:
            self.status_reads += 1
            if self.busy_reads is None or self.status_reads <= self.busy_reads:
                return self.busy
            return self.ready
        return rawmem.SimulatedMemory.load(self, addr, size)

    def written_to(self, offset):
        return [value for off, size, value in self.stores if off == offset]

    def text_at(self, offset):
        return ''.join(chr(value) for value in self.written_to(offset))
