"""The kernel log: levels, number formatting, sinks, history replay."""

from elyz.drivers.serial import SerialPort
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


class StyleRecorder(Recorder):
    """Records characters and, as ('style', level, source), every set_style."""

    def __init__(self):
        Recorder.__init__(self)
        self.events = []

    def put_char(self, c):
        Recorder.put_char(self, c)
        if self.events and isinstance(self.events[-1], str):
            self.events[-1] += c
        else:
            self.events.append(c)

    def set_style(self, level, source):
        self.events.append(('style', level, source))


def log_every_kind_of_line():
    log.info('a')
    log.warn('b')
    log.begin(log.INFO, log.PROCESS)
    log.put('[pid 3] c')
    log.end()
    log.line(log.ERROR, 'd', log.PROCESS)
    log.debug('e')
    log.line(log.PANIC, 'f')
    log.raw_line('g')


EVERY_KIND_EVENTS = [
    ('style', log.INFO, log.KERNEL), 'a\n',
    ('style', log.WARN, log.KERNEL), 'warning: b\n',
    ('style', log.INFO, log.PROCESS), '[pid 3] c\n',
    ('style', log.ERROR, log.PROCESS), 'error: d\n',
    ('style', log.DEBUG, log.KERNEL), 'debug: e\n',
    ('style', log.PANIC, log.KERNEL), 'PANIC: f\n',
    ('style', log.INFO, log.KERNEL), 'g\n',
]


def test_sinks_are_told_each_line_s_level_and_source_before_its_characters():
    sink = StyleRecorder()
    log.attach(sink)                   # told the current style at once
    log_every_kind_of_line()
    assert sink.events == EVERY_KIND_EVENTS


def test_a_replay_tells_the_same_styles_as_the_live_log():
    log_every_kind_of_line()
    late = StyleRecorder()
    log.replay(late)
    assert late.events == EVERY_KIND_EVENTS


def test_styles_never_reach_the_text():
    # the serial port (and `captured`, what the boot tests compare) stays plain
    sink = Recorder()
    log.attach(sink)
    log_every_kind_of_line()
    assert sink.value() == ('a\nwarning: b\n[pid 3] c\nerror: d\ndebug: e\nPANIC: f\ng\n')
    assert log.captured == ['a', 'warning: b', '[pid 3] c', 'error: d', 'debug: e',
                            'PANIC: f', 'g']
    assert SerialPort.set_style.im_func is log.LogSink.set_style.im_func


def test_lines_below_the_minimum_level_tell_no_style():
    sink = StyleRecorder()
    log.attach(sink)
    log.set_min_level(log.INFO)
    log.info('a')
    log.debug('hidden')
    log.info('b')
    assert sink.events == [('style', log.INFO, log.KERNEL), 'a\nb\n']


def test_a_sink_attached_mid_line_is_told_the_line_s_style():
    log.begin(log.WARN)
    sink = StyleRecorder()
    log.attach(sink)
    log.put('x')
    log.end()
    log.info('y')
    assert sink.events == [('style', log.WARN, log.KERNEL), 'x\n',
                           ('style', log.INFO, log.KERNEL), 'y\n']
