"""The allocation check of tests/boot/rpy.py catches what it must."""

import pytest

from tests.boot.rpy import rtype_without_allocation


def _builds_a_list(n):
    items = [0] * n
    return len(items)


def _allocates_nothing(n):
    return n * 2 + 1


def test_allocation_check_catches_a_list_built_at_run_time(monkeypatch):
    monkeypatch.setattr(_builds_a_list, '__module__', 'elyz.boot.probe')
    with pytest.raises(AssertionError) as failure:
        rtype_without_allocation([(_builds_a_list, [int])])
    assert "malloc" in str(failure.value)


def test_allocation_check_passes_plain_arithmetic(monkeypatch):
    monkeypatch.setattr(_allocates_nothing, '__module__', 'elyz.boot.probe')
    rtype_without_allocation([(_allocates_nothing, [int])])
