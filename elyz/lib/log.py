"""The kernel log: levelled lines to every attached sink (serial, console).

    debug(msg) info(msg) warn(msg) error(msg)   one whole line
    begin(level, source=KERNEL) put(s) put_int(n) put_hex(n) put_char(c) end()
                                                a line built from pieces; source
                                                says whose line it is: KERNEL,
                                                or PROCESS (a user process's
                                                debug_write)
    raw_line(msg)                               a line with no level prefix
    attach(sink) / detach(sink)                 sink: a LogSink subclass
    replay(sink)                                writes the retained history
                                                (the last HISTORY_SIZE characters,
                                                from a line start) to sink
    set_min_level(level)

Sinks see characters (put_char) and, before the first character whose
level or source differs from the last ones they were told, a call
set_style(level, source) (after end() a line is INFO from KERNEL again);
the history keeps each character's style, so a replay tells a late sink
the same.  The serial port ignores styles (its text stays plain); the
framebuffer console colours by them.

Nothing here allocates: messages are constant strings and numbers are
printed digit by digit, so the log is safe on any kernel path (but not in
an interrupt handler that interrupted the log itself: lines would mix).
Untranslated, complete lines are also kept in `captured` for tests.
"""

from rpython.rlib.objectmodel import we_are_translated

DEBUG = 0
INFO = 1
WARN = 2
ERROR = 3
PANIC = 4
_PREFIXES = ['debug: ', '', 'warning: ', 'error: ', 'PANIC: ']

# Whose line it is (the second argument of begin and LogSink.set_style).
KERNEL = 0
PROCESS = 1                   # a user process (sys_debug_write)
_SOURCE_SHIFT = 4             # a style is (source << _SOURCE_SHIFT) | level
_LEVEL_MASK = (1 << _SOURCE_SHIFT) - 1

MAX_SINKS = 4
HISTORY_SIZE = 16384          # characters kept for replay to late sinks


class LogSink(object):
    """Something that shows log characters; subclasses override put_char."""

    def put_char(self, c):
        """Shows one character; the base class drops it."""
        pass

    def set_style(self, level, source):
        """Says that the characters from now on belong to a line of level
        (DEBUG..PANIC) from source (KERNEL or PROCESS); the base class
        ignores it.  Must not allocate (it runs on the log path)."""
        pass


def _style(level, source):
    """Returns the style number of level and source (below 256)."""
    return (source << _SOURCE_SHIFT) | level


class _LogState(object):
    def __init__(self):
        self.sinks = [None] * MAX_SINKS
        self.min_level = DEBUG
        self.level = INFO
        self.source = KERNEL
        self.sinks_style = _style(INFO, KERNEL)   # the style the sinks were last told
        self.digits = ['\x00'] * 24
        self.lines_written = 0
        self.history = ['\x00'] * HISTORY_SIZE
        self.history_styles = ['\x00'] * HISTORY_SIZE   # chr(style) of each character
        self.history_next = 0         # where the next character goes
        self.history_wrapped = False


_state = _LogState()
captured = []          # untranslated only: the lines written so far
_partial = []          # untranslated only: the line being built


def attach(sink):
    """Adds sink; returns False when all MAX_SINKS slots are taken."""
    for i in range(MAX_SINKS):
        if _state.sinks[i] is sink:
            return True
    for i in range(MAX_SINKS):
        if _state.sinks[i] is None:
            _state.sinks[i] = sink
            sink.set_style(_state.level, _state.source)
            return True
    return False


def replay(sink):
    """Writes the retained history to sink, oldest first; when the
    history has wrapped, starts after the oldest retained newline so the
    sink sees whole lines.  Returns the number of characters written."""
    if _state.history_wrapped:
        i = _state.history_next
        stop = i
        # skip the partial first line
        while True:
            c = _state.history[i]
            i += 1
            if i == HISTORY_SIZE:
                i = 0
            if c == '\n' or i == stop:
                break
    else:
        i = 0
        stop = _state.history_next
    count = 0
    told = -1
    while i != stop:
        style = ord(_state.history_styles[i])
        if style != told:
            sink.set_style(style & _LEVEL_MASK, style >> _SOURCE_SHIFT)
            told = style
        sink.put_char(_state.history[i])
        count += 1
        i += 1
        if i == HISTORY_SIZE:
            i = 0
    return count


def detach(sink):
    """Removes sink (if attached); returns nothing."""
    for i in range(MAX_SINKS):
        if _state.sinks[i] is sink:
            _state.sinks[i] = None


def detach_all():
    """Removes every sink; returns nothing."""
    for i in range(MAX_SINKS):
        _state.sinks[i] = None


def set_min_level(level):
    """Drops lines below level from now on; returns nothing."""
    _state.min_level = level


def _emit(c):
    if _state.level < _state.min_level:
        return
    style = _style(_state.level, _state.source)
    if style != _state.sinks_style:
        _state.sinks_style = style
        for i in range(MAX_SINKS):
            sink = _state.sinks[i]
            if sink is not None:
                sink.set_style(_state.level, _state.source)
    for i in range(MAX_SINKS):
        sink = _state.sinks[i]
        if sink is not None:
            sink.put_char(c)
    _state.history[_state.history_next] = c
    _state.history_styles[_state.history_next] = chr(style)
    _state.history_next += 1
    if _state.history_next == HISTORY_SIZE:
        _state.history_next = 0
        _state.history_wrapped = True
    if not we_are_translated():
        if c == '\n':
            captured.append(''.join(_partial))
            del _partial[:]
        else:
            _partial.append(c)


def put_char(c):
    """Writes one character to the current line."""
    _emit(c)


def put(s):
    """Writes the characters of s to the current line."""
    for i in range(len(s)):
        _emit(s[i])


def put_int(n):
    """Writes n in decimal."""
    if n < 0:
        _emit('-')
        if n == -n:            # the most negative word: print via unsigned
            put_hex(n)
            return
        n = -n
    count = 0
    while True:
        _state.digits[count] = chr(ord('0') + n % 10)
        count += 1
        n //= 10
        if n == 0:
            break
    while count > 0:
        count -= 1
        _emit(_state.digits[count])


HEX_DIGITS = '0123456789abcdef'


def put_hex(n, min_digits=1):
    """Writes n as 0x followed by its 64-bit two's complement hex digits."""
    _emit('0')
    _emit('x')
    count = 0
    for shift in range(60, -4, -4):
        d = (n >> shift) & 0xF
        if d != 0 or count > 0 or shift < 4 * min_digits:
            _emit(HEX_DIGITS[d])
            count += 1


def begin(level, source=KERNEL):
    """Starts a line at level from source (KERNEL, or PROCESS for a user
    process's line)."""
    _state.level = level
    _state.source = source
    put(_PREFIXES[level])


def end():
    """Ends the current line."""
    _emit('\n')
    _state.lines_written += 1
    _state.level = INFO
    _state.source = KERNEL


def line(level, msg, source=KERNEL):
    """Writes msg as one whole line at level from source."""
    begin(level, source)
    put(msg)
    end()


def raw_line(msg):
    """Writes msg as one line with no level prefix (the banner)."""
    _state.level = INFO
    _state.source = KERNEL
    put(msg)
    end()


def debug(msg):
    """Writes msg as a debug line."""
    line(DEBUG, msg)


def info(msg):
    """Writes msg as an info line (no prefix)."""
    line(INFO, msg)


def warn(msg):
    """Writes msg as a "warning: " line."""
    line(WARN, msg)


def error(msg):
    """Writes msg as an "error: " line."""
    line(ERROR, msg)


def reset_for_tests():
    """Untranslated only: forgets sinks and captured lines."""
    detach_all()
    _state.min_level = DEBUG
    _state.level = INFO
    _state.source = KERNEL
    _state.sinks_style = _style(INFO, KERNEL)
    _state.history_next = 0
    _state.history_wrapped = False
    del captured[:]
    del _partial[:]
