"""The kernel log: levels, number formatting, sinks, history replay."""

from elyz.lib import log


class Recorder(log.LogSink):
    def __init__(self):
        self.text = []

    def put_char(self, c):
        self.text.append(c)

    def value(self):
        return ''.join(self.text)


def setup_function(function):
    log.reset_for_tests()


def test_levels_prefix_lines_and_info_has_none():
    log.info('plain')
    log.warn('careful')
    log.error('broken')
    assert log.captured == ['plain', 'warning: careful', 'error: broken']


def test_numbers_print_without_allocation_helpers():
    log.begin(log.INFO)
    log.put_int(0)
    log.put(' ')
    log.put_int(-1234)
    log.put(' ')
    log.put_hex(0xff800)
    log.put(' ')
    log.put_hex(-1)
    log.end()
    assert log.captured == ['0 -1234 0xff800 0xffffffffffffffff']


def test_attached_sink_sees_every_character_until_detached():
    sink = Recorder()
    log.attach(sink)
    log.info('one')
    log.detach(sink)
    log.info('two')
    assert sink.value() == 'one\n'


def test_replay_gives_a_late_sink_the_banner_and_everything_after():
    log.raw_line('Elyz 0.1.0 (x86_64, boot: pvh)')
    log.info('memory: 64 MiB')
    late = Recorder()
    log.replay(late)
    assert late.value() == 'Elyz 0.1.0 (x86_64, boot: pvh)\nmemory: 64 MiB\n'


def test_replay_after_wrapping_starts_at_a_whole_line():
    line = 'x' * 99
    for _ in range(log.HISTORY_SIZE // 100 + 20):
        log.info(line)
    late = Recorder()
    log.replay(late)
    text = late.value()
    assert text.endswith(line + '\n')
    assert all(l == line for l in text.splitlines())
    assert len(text) <= log.HISTORY_SIZE
