"""tools/qemurun.py's log cleaning (no QEMU needed)."""

from tools import qemurun


def test_carriage_returns_are_dropped():
    assert qemurun.strip_terminal_control(u'one\r\ntwo\r\n') == u'one\ntwo\n'


def test_ovmf_screen_control_before_the_kernel_line_is_dropped():
    # What OVMF sends after Limine (quiet) clears the screen under UEFI.
    raw = (u'BdsDxe: starting Boot0001\r\n\x1b[2J\x1b[01;01H\x1b[=3h\x1b[01;01H'
           u'Elyz 0.1.0 (x86_64, boot: limine)\r\n')
    assert qemurun.strip_terminal_control(raw) == \
        u'BdsDxe: starting Boot0001\nElyz 0.1.0 (x86_64, boot: limine)\n'


def test_a_cursor_move_to_column_one_ends_an_unfinished_line():
    # Limine's own message, each character placed by OVMF, then the kernel.
    raw = u''.join(u'\x1b[01;%02dH%s' % (i + 1, c) for i, c in enumerate(u'limine: ok'))
    raw += u'\x1b[01;11H\x1b[02;01HElyz 0.1.0 (x86_64, boot: limine)\r\n'
    assert qemurun.strip_terminal_control(raw) == \
        u'limine: ok\nElyz 0.1.0 (x86_64, boot: limine)\n'


def test_other_escape_sequences_are_dropped():
    raw = u'a\x1b[0;1mb\x1b[0mc\x1b]0;title\x07d\x1bce\x1b[H'
    assert qemurun.strip_terminal_control(raw) == u'abcde\n'
