"""The allocation check of tests/support/rpycheck.py catches what it must."""

import pytest
from rpython.rlib.objectmodel import dont_inline

from elyz.rlib_kernel.backend.checks import may_allocate
from tests.support.rpycheck import reaches, rtype_allocation_free


@dont_inline            # so that it shows in the call paths
def _builds_a_list(n):
    items = [0] * n
    return len(items)


def _allocates_nothing(n):
    return n * 2 + 1


def _counts_with_range(n):
    total = 0
    for i in range(n):
        total += i
    return total


def _calls_the_list_builder(n):
    return _builds_a_list(n) + 1


@may_allocate
@dont_inline            # like panic(), which is too big to inline
def _gives_up(n):
    return _builds_a_list(n)


def _allocates_only_to_give_up(n):
    if n < 0:
        return _gives_up(n)
    return n


def test_a_list_built_at_run_time_is_caught_with_its_call_path():
    with pytest.raises(AssertionError) as failure:
        rtype_allocation_free([(_calls_the_list_builder, [int])],
                              roots=[_calls_the_list_builder])
    assert "_calls_the_list_builder -> _builds_a_list" in str(failure.value)
    assert "malloc" in str(failure.value)


def test_module_prefix_checks_every_function_of_the_modules(monkeypatch):
    monkeypatch.setattr(_builds_a_list, '__module__', 'elyz.boot.probe')
    with pytest.raises(AssertionError) as failure:
        rtype_allocation_free([(_builds_a_list, [int])], module_prefix='elyz.boot')
    assert "malloc" in str(failure.value)


def test_plain_arithmetic_passes(monkeypatch):
    monkeypatch.setattr(_allocates_nothing, '__module__', 'elyz.boot.probe')
    rtype_allocation_free([(_allocates_nothing, [int])], module_prefix='elyz.boot')


def test_a_range_loop_passes_optimised_but_not_unoptimised(monkeypatch):
    monkeypatch.setattr(_counts_with_range, '__module__', 'elyz.mm.probe')
    rtype_allocation_free([(_counts_with_range, [int])], module_prefix='elyz.mm')
    with pytest.raises(AssertionError) as failure:
        rtype_allocation_free([(_counts_with_range, [int])], module_prefix='elyz.mm',
                              unoptimised=True)
    assert "before the backend optimisations" in str(failure.value)


def test_a_may_allocate_function_is_not_descended_into():
    t = rtype_allocation_free([(_allocates_only_to_give_up, [int])],
                              roots=[_allocates_only_to_give_up])
    assert not reaches(t, _allocates_only_to_give_up, _builds_a_list)
    assert reaches(t, _gives_up, _builds_a_list)
