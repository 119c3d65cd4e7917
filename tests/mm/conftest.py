"""Every mm test starts and ends with an empty kernel log (the PMM and the
heap log their errors there)."""

import pytest

from elyz.lib import log


@pytest.fixture(autouse=True)
def clean_log():
    log.reset_for_tests()
    yield
    log.reset_for_tests()
