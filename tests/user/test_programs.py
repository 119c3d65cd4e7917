"""The programs and the multi-call entry point, untranslated (CPython): the
same code the image runs, with api.write collecting the output."""

import pytest

from user import gcstress, hello, rtcheck
from user.lib import api, multicall
from user.lib.image import load_programs, program_names


@pytest.fixture
def output():
    del api.OUTPUT[:]
    yield api.OUTPUT
    del api.OUTPUT[:]


def test_the_image_holds_every_module_of_user():
    import os
    from tests.conftest import ROOT
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'user'))
                     if f.endswith('.py') and not f.startswith('_'))
    assert program_names() == modules
    assert set(['gcstress', 'hello', 'rtcheck', 'init', 'demo']) <= set(modules)
    assert [name for name, _ in load_programs()] == program_names()


@pytest.mark.parametrize('block, args', [
    ('', []),
    ('hello', ['hello']),
    ('hello\0', ['hello']),
    ('hello\0a\0b c\0', ['hello', 'a', 'b c']),
    ('gcstress\0\0x', ['gcstress', '', 'x']),
])
def test_an_args_block_is_split_at_nul_bytes(block, args):
    assert multicall.split_args(block) == args


def test_the_first_argument_picks_the_program(output):
    programs = [('hello', hello.main), ('gcstress', gcstress.main)]
    assert multicall.run(programs, ['hello', 'x']) == 0
    assert ''.join(output) == "hello from Elyz user mode: hello\narguments: x\n"


def test_an_unknown_program_lists_the_others(output):
    programs = [('hello', hello.main)]
    assert multicall.run(programs, ['bye']) == multicall.EXIT_UNKNOWN_PROGRAM
    assert "no program called 'bye'" in ''.join(output)
    assert multicall.run(programs, []) == multicall.EXIT_UNKNOWN_PROGRAM


def test_gcstress_checks_its_results(output):
    assert gcstress.main(['gcstress', '20']) == 0
    text = ''.join(output)
    assert text.startswith('gcstress: ok rounds=20 allocated=')


def test_gcstress_reports_a_wrong_result(output, monkeypatch):
    monkeypatch.setattr(gcstress, 'tree_sum', lambda node: 0)
    assert gcstress.main(['gcstress', '2']) == 1
    assert 'gcstress: FAIL tree sum' in ''.join(output)


def test_rtcheck_float_and_usage(output):
    assert rtcheck.main(['rtcheck', 'float']) == 0
    assert rtcheck.main(['rtcheck']) == 2


def test_exit_untranslated_raises_program_exit():
    with pytest.raises(api.ProgramExit) as err:
        rtcheck.main(['rtcheck', 'exit'])
    assert err.value.code == 42
