"""The 8259A pair: remapped to 0x20-0x2f and fully masked; EOI only for real IRQs."""

import pytest

from elyz.drivers import pic
from elyz.rlib_kernel import ports


@pytest.fixture
def fake():
    fake = ports.emulate()
    yield fake
    ports.emulate()


def device_writes(fake):
    """The writes to the PICs, without the io-wait writes to port 0x80."""
    return [(port, value) for port, size, value in fake.writes if port != pic.IO_WAIT_PORT]


def test_remap_sends_icw1_to_icw4_to_both_chips_then_masks_every_line(fake):
    pic.remap_and_mask()
    assert device_writes(fake) == [
        (0x20, 0x11), (0xA0, 0x11),          # ICW1: initialise, ICW4 follows
        (0x21, 0x20), (0xA1, 0x28),          # ICW2: vector bases
        (0x21, 0x04), (0xA1, 0x02),          # ICW3: slave on IRQ 2 / cascade id 2
        (0x21, 0x01), (0xA1, 0x01),          # ICW4: 8086 mode
        (0x21, 0xFF), (0xA1, 0xFF),          # OCW1: every line masked
    ]
    assert all(size == 1 for port, size, value in fake.writes)


def test_remap_waits_between_initialisation_words(fake):
    pic.remap_and_mask()
    io_waits = [w for w in fake.writes if w[0] == pic.IO_WAIT_PORT]
    assert len(io_waits) == 8


def test_mask_all_masks_both_chips(fake):
    pic.mask_all()
    assert device_writes(fake) == [(0x21, 0xFF), (0xA1, 0xFF)]


def test_pic_vectors_are_exactly_0x20_to_0x2f():
    assert [v for v in range(256) if pic.is_pic_vector(v)] == list(range(0x20, 0x30))


def test_a_real_master_irq_gets_one_eoi_to_the_master(fake):
    assert pic.acknowledge(0x20 + 1) is True
    assert device_writes(fake) == [(0x20, 0x20)]


def test_a_real_slave_irq_gets_eoi_to_slave_then_master(fake):
    assert pic.acknowledge(0x20 + 12) is True
    assert device_writes(fake) == [(0xA0, 0x20), (0x20, 0x20)]


def test_irq7_in_service_is_real(fake):
    fake.values[0x20] = 1 << 7                    # ISR bit 7 set
    assert pic.acknowledge(0x27) is True
    assert device_writes(fake) == [(0x20, 0x0B), (0x20, 0x20)]


def test_spurious_irq7_gets_no_eoi(fake):
    fake.values[0x20] = 0                         # ISR empty: spurious
    assert pic.acknowledge(0x27) is False
    assert device_writes(fake) == [(0x20, 0x0B)]  # only the OCW3 "read ISR"


def test_spurious_irq15_gets_eoi_to_the_master_only(fake):
    fake.values[0xA0] = 0
    assert pic.acknowledge(0x2F) is False
    assert device_writes(fake) == [(0xA0, 0x0B), (0x20, 0x20)]
