"""The tick clock."""

import pytest

from elyz.lib import clock


@pytest.fixture(autouse=True)
def fresh_clock():
    clock.reset_for_tests()
    yield
    clock.reset_for_tests()


def test_clock_starts_at_zero_and_stopped():
    assert clock.ticks() == 0
    assert clock.ticks_per_second() == 0


def test_each_tick_advances_the_count_by_one():
    for i in range(5):
        clock.tick()
    assert clock.ticks() == 5


def test_ticks_per_second_is_the_programmed_rate_once_running():
    clock.set_running(True)
    assert clock.ticks_per_second() == clock.TICKS_PER_SECOND == 100
