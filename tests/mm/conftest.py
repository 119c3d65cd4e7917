"""Every mm test starts and ends with an empty kernel log (the PMM and the
heap log their errors there).

Page-table formats: a test that asks for the fixture `pte_format` (the
`frames` and `pml4` fixtures of test_paging.py do) runs once per format of
elyz/mm/pte, with paging.fmt swapped for it; one marked x86_only runs for
x86_64 alone (it reads x86 bits), one marked formats('aarch64', ...) for
those named."""

import pytest

from elyz.lib import log
from elyz.mm import paging, pte


def pytest_configure(config):
    config.addinivalue_line('markers', 'x86_only: reads x86_64 entry bits; '
                                       'runs with the x86_64 format only')
    config.addinivalue_line('markers', 'formats(*names): runs with those formats only')


def pytest_generate_tests(metafunc):
    if 'pte_format' in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker('formats')
        if metafunc.definition.get_closest_marker('x86_only'):
            names = ['x86_64']
        elif only is not None:
            names = list(only.args)
        else:
            names = list(pte.NAMES)
        metafunc.parametrize('pte_format', names, indirect=True)


@pytest.fixture
def pte_format(request, monkeypatch):
    """The format module paging uses during the test."""
    module = pte.by_name(request.param)
    monkeypatch.setattr(paging, 'fmt', module)
    yield module
    paging.set_count_array(0, 0)


@pytest.fixture(autouse=True)
def clean_log():
    log.reset_for_tests()
    yield
    log.reset_for_tests()
