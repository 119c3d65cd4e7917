"""8254 programmable interval timer (legacy PC): a polled one-shot clock
for calibrating other timers.  Uses channel 2, whose gate and output are
wired to port 0x61 (no interrupt involved, so it works before the IDT).

    PIT_HZ                      the input clock, 1193182 Hz
    MAX_ONESHOT_MS              the longest one-shot (16-bit count): 54 ms
    count_for_ms(ms) -> count   PIT counts in ms milliseconds
    start_oneshot(ms)           starts counting ms milliseconds
    oneshot_expired() -> bool   has the one-shot ended?
    wait_oneshot() -> bool      waits for the end; False when the output
                                never rose (no PIT) within SPIN_LIMIT polls
    delay_ms(ms) -> bool        start_oneshot + wait_oneshot

Reference: Intel 82C54 datasheet (mode 0, "interrupt on terminal count");
port 0x61 is the PC/AT "port B" (bit 0 gate 2, bit 1 speaker, bit 5 OUT2).
"""

from elyz.rlib_kernel import ports

PIT_HZ = 1193182
MS_PER_SECOND = 1000
MAX_COUNT = 0xFFFF
MAX_ONESHOT_MS = MAX_COUNT * MS_PER_SECOND // PIT_HZ

CHANNEL2_DATA = 0x42
COMMAND = 0x43
PORT_B = 0x61
PORT_B_GATE2 = 0x01
PORT_B_SPEAKER = 0x02
PORT_B_OUT2 = 0x20

# Command byte: channel 2 (bits 7-6 = 10), access lobyte/hibyte (bits 5-4
# = 11), mode 0 (bits 3-1 = 000), binary (bit 0 = 0).
COMMAND_CHANNEL2_ONESHOT = 0xB0

# Polls of port B before giving up (each in/out traps to the hypervisor in
# a VM, so this is several seconds at least, far above MAX_ONESHOT_MS).
SPIN_LIMIT = 20000000


def count_for_ms(ms):
    """Returns the PIT count lasting ms milliseconds, clamped to 1..MAX_COUNT."""
    count = PIT_HZ * ms // MS_PER_SECOND
    if count < 1:
        return 1
    if count > MAX_COUNT:
        return MAX_COUNT
    return count


def start_oneshot(ms):
    """Starts a one-shot of ms milliseconds (at most MAX_ONESHOT_MS); returns nothing."""
    count = count_for_ms(ms)
    port_b = ports.inb(PORT_B)
    ports.outb(PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2)
    ports.outb(COMMAND, COMMAND_CHANNEL2_ONESHOT)
    ports.outb(CHANNEL2_DATA, count & 0xFF)
    ports.outb(CHANNEL2_DATA, (count >> 8) & 0xFF)


def oneshot_expired():
    """Returns True once the one-shot started last has reached its end."""
    return (ports.inb(PORT_B) & PORT_B_OUT2) != 0


def wait_oneshot():
    """Returns True when the one-shot ended; False after SPIN_LIMIT polls
    without the output rising (no working PIT)."""
    spins = 0
    while not oneshot_expired():
        spins += 1
        if spins >= SPIN_LIMIT:
            return False
    return True


def delay_ms(ms):
    """Waits ms milliseconds (at most MAX_ONESHOT_MS); returns False when no PIT answers."""
    start_oneshot(ms)
    return wait_oneshot()
