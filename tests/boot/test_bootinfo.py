"""BootInfo's own helpers (elyz.boot.bootinfo)."""

from elyz.boot.bootinfo import BootInfo


def test_cmdline_values_are_found_by_name():
    info = BootInfo()
    text = 'elyz.exit elyz.initx=no elyz.init=hello,demo quiet'
    for i, c in enumerate(text):
        info.cmdline[i] = c
    info.cmdline_len = len(text)
    start = info.cmdline_value('elyz.init')
    assert ''.join(info.cmdline[start:info.cmdline_value_end(start)]) == 'hello,demo'
    assert info.cmdline_value('elyz.exit') == -1          # a word without a value
    assert info.cmdline_value('quiet') == -1
    assert info.cmdline_value('elyz.nothing') == -1
