"""The 8254 channel 2 one-shot used to calibrate the APIC timer."""

import pytest

from elyz.drivers import pit
from elyz.rlib_kernel import ports


@pytest.fixture
def fake():
    fake = ports.emulate()
    yield fake
    ports.emulate()


def test_count_for_ms_uses_the_1193182_hz_input_clock():
    assert pit.count_for_ms(10) == 11931
    assert pit.count_for_ms(50) == 59659


def test_count_for_ms_is_clamped_to_the_16_bit_counter():
    assert pit.count_for_ms(0) == 1
    assert pit.count_for_ms(pit.MAX_ONESHOT_MS) <= 0xFFFF
    assert pit.count_for_ms(1000) == 0xFFFF
    assert pit.MAX_ONESHOT_MS == 54


def test_start_oneshot_opens_gate_2_silences_the_speaker_and_loads_mode_0(fake):
    fake.values[0x61] = 0x02 | 0x0C               # speaker on, other bits kept
    pit.start_oneshot(50)
    count = pit.count_for_ms(50)
    assert [(p, v) for p, s, v in fake.writes] == [
        (0x61, 0x0C | 0x01),                      # gate on, speaker off
        (0x43, 0xB0),                             # channel 2, lo/hi, mode 0, binary
        (0x42, count & 0xFF),
        (0x42, count >> 8),
    ]


def test_oneshot_expired_reads_out2_on_port_b(fake):
    fake.values[0x61] = 0x00
    assert not pit.oneshot_expired()
    fake.values[0x61] = 0x20
    assert pit.oneshot_expired()


class RisingOut2(ports.FakePorts):
    """Port B shows OUT2 low for `polls` reads, then high."""

    def __init__(self, polls):
        ports.FakePorts.__init__(self)
        self.polls = polls
        self.reads = 0

    def read(self, port, size):
        if port == 0x61:
            self.reads += 1
            return 0x20 if self.reads > self.polls else 0x00
        return ports.FakePorts.read(self, port, size)


def test_wait_oneshot_polls_until_out2_rises():
    fake = ports.emulate(RisingOut2(polls=5))
    try:
        assert pit.wait_oneshot() is True
        assert fake.reads == 6
    finally:
        ports.emulate()


def test_wait_oneshot_gives_up_when_no_pit_answers(fake, monkeypatch):
    monkeypatch.setattr(pit, 'SPIN_LIMIT', 100)
    fake.values[0x61] = 0x00
    assert pit.wait_oneshot() is False


def test_delay_ms_starts_and_waits(fake):
    fake.values[0x61] = 0x20
    assert pit.delay_ms(10) is True
    assert (0x43, 1, 0xB0) in fake.writes
