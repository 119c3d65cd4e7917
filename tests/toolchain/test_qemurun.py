"""tools/qemurun.py: log cleaning, QEMU command lines and exit statuses (no QEMU needed)."""

import os

import pytest

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


# ------------------------------------------------------- QEMU command lines

@pytest.fixture
def no_qemu_flags(monkeypatch):
    monkeypatch.delenv('QEMU_FLAGS', raising=False)


def option(cmd, name):
    """Returns the value after the last occurrence of option name in cmd."""
    return cmd[len(cmd) - 1 - cmd[::-1].index(name) + 1]


@pytest.mark.parametrize('karch, binary, cpu', [
    ('riscv64', 'qemu-system-riscv64', 'rv64'),
    ('aarch64', 'qemu-system-aarch64', 'cortex-a72'),
    ('loongarch64', 'qemu-system-loongarch64', 'la464'),
])
def test_a_port_boots_the_virt_machine_directly_with_its_kernel(no_qemu_flags, karch, binary,
                                                                 cpu):
    cmd = qemurun.qemu_command(kernel='/k/elyz.elf', cmdline='elyz.selftest elyz.exit',
                               memory='256M', karch=karch)
    assert cmd[0] == qemurun.port_binary(karch)
    assert os.path.basename(cmd[0]) == binary
    assert option(cmd, '-M') == 'virt'
    assert option(cmd, '-cpu') == cpu
    # QEMU 7.2's loongarch64 virt refuses less than 1 GiB; the backports
    # QEMU (tools/qemu-backports.sh) takes any size.
    backports = qemurun.port_binary(karch) != binary
    assert option(cmd, '-m') == ('1024M' if karch == 'loongarch64' and not backports
                                 else '256M')
    assert option(cmd, '-kernel') == '/k/elyz.elf'
    assert option(cmd, '-append') == 'elyz.selftest elyz.exit'
    assert option(cmd, '-serial') == 'stdio'
    assert '-no-reboot' in cmd and '-icount' not in cmd
    assert not [arg for arg in cmd if 'isa-debug-exit' in arg or arg in ('q35', '-cdrom')]


def test_loongarch64_prefers_the_backports_qemu(monkeypatch, tmpdir):
    monkeypatch.setattr(qemurun, 'BACKPORTS_QEMU_DIR', str(tmpdir))
    assert qemurun.port_binary('loongarch64') == 'qemu-system-loongarch64'
    tmpdir.join('qemu-system-loongarch64').write('')
    assert qemurun.port_binary('loongarch64') == str(tmpdir.join('qemu-system-loongarch64'))
    assert qemurun.port_binary('riscv64') == 'qemu-system-riscv64'
    assert qemurun._port_memory('loongarch64', '128M') == '128M'
    monkeypatch.setattr(qemurun, 'BACKPORTS_QEMU_DIR', str(tmpdir.join('none')))
    assert qemurun._port_memory('loongarch64', '128M') == '1024M'


def test_loongarch64_also_gets_its_command_line_through_fw_cfg(no_qemu_flags):
    # QEMU 7.2 drops -append on a loongarch64 direct boot; commas are doubled
    # in a QEMU option value.
    cmd = qemurun.qemu_command(kernel='k', cmdline='elyz.init=a,b', memory='2G',
                               karch='loongarch64')
    assert option(cmd, '-fw_cfg') == 'name=opt/org.elyz/cmdline,string=elyz.init=a,,b'
    assert option(cmd, '-m') == '2G'
    assert '-fw_cfg' not in qemurun.qemu_command(kernel='k', karch='riscv64')


def test_only_aarch64_turns_semihosting_on_for_its_exit(no_qemu_flags):
    aarch64 = qemurun.qemu_command(kernel='k', karch='aarch64')
    assert option(aarch64, '-semihosting-config').startswith('enable=on')
    assert '-semihosting-config' not in qemurun.qemu_command(kernel='k', karch='riscv64')


def test_a_port_command_counts_instructions_when_asked(no_qemu_flags):
    cmd = qemurun.qemu_command(kernel='k', karch='riscv64', icount=True)
    assert option(cmd, '-icount') == 'shift=0,sleep=off'


def test_a_port_command_without_a_kernel_has_no_kernel_options(no_qemu_flags):
    cmd = qemurun.qemu_command(karch='aarch64')
    assert '-kernel' not in cmd and '-append' not in cmd


def test_an_aarch64_image_boots_under_aavmf_with_acpi_off_and_a_ramfb(no_qemu_flags):
    cmd = qemurun.qemu_command(image='e.iso', uefi=True, vars_copy='v.fd', karch='aarch64')
    assert cmd[cmd.index('-M') + 1] == 'virt,acpi=off'
    assert 'if=pflash,unit=0,format=raw,readonly=on,file=' + qemurun.AAVMF_CODE in cmd
    assert 'if=pflash,unit=1,format=raw,file=v.fd' in cmd
    assert cmd[cmd.index('-device') + 1] == 'ramfb'
    assert 'file=e.iso,format=raw,if=virtio,readonly=on' in cmd and '-kernel' not in cmd


def test_a_riscv64_image_boots_under_u_boot_as_a_virtio_disk(no_qemu_flags):
    cmd = qemurun.qemu_command(image='e.iso', uefi=True, karch='riscv64')
    assert cmd[cmd.index('-kernel') + 1] == qemurun.UBOOT_RISCV64
    assert cmd[cmd.index('-M') + 1] == 'virt'
    assert 'file=e.iso,format=raw,if=virtio,readonly=on' in cmd


def test_extra_options_then_qemu_flags_come_last_on_a_port(monkeypatch):
    monkeypatch.setenv('QEMU_FLAGS', '-m 2G -d int -serial stdio')
    cmd = qemurun.qemu_command(kernel='k', karch='riscv64', extra=['-smp', '2'])
    assert cmd[-4:] == ['-m', '2G', '-d', 'int']          # the serial route is left out
    assert cmd[-6:-4] == ['-smp', '2']
    assert option(cmd, '-m') == '2G'                       # a later -m wins
    assert cmd.count('-serial') == 1


def test_the_x86_64_command_is_the_q35_machine_with_the_debug_exit_device(no_qemu_flags):
    cmd = qemurun.qemu_command(kernel='k', cmdline='c', karch='x86_64', icount=True)
    assert cmd[0] == 'qemu-system-x86_64'
    assert option(cmd, '-M') == 'q35'
    assert 'isa-debug-exit,iobase=0xf4,iosize=0x04' in cmd
    assert option(cmd, '-icount') == 'shift=0,sleep=off'
    assert option(cmd, '-kernel') == 'k' and option(cmd, '-append') == 'c'


def test_karch_defaults_to_the_environment(no_qemu_flags, monkeypatch):
    monkeypatch.setattr(qemurun, 'KARCH', 'riscv64')
    assert qemurun.qemu_command(kernel='k')[0] == 'qemu-system-riscv64'
    monkeypatch.setattr(qemurun, 'KARCH', 'x86_64')
    assert qemurun.qemu_command(kernel='k')[0] == 'qemu-system-x86_64'


@pytest.mark.parametrize('what, x86_64, port', [
    ('success', 1, 0), ('failure', 3, 1), ('panic', 5, 2)])
def test_exit_statuses_of_x86_64_and_of_the_ports(what, x86_64, port):
    assert qemurun.status_of(what, 'x86_64') == x86_64
    for karch in ('aarch64', 'riscv64'):
        assert qemurun.status_of(what, karch) == port
    # loongarch64 can only power off (the GED): 0 whatever happened.
    assert qemurun.status_of(what, 'loongarch64') == 0


def test_port_statuses_are_the_codes_the_kernel_exits_with():
    from elyz.kernel import qemu
    assert [qemurun.status_of(w, 'riscv64') for w in ('success', 'failure', 'panic')] == \
        [qemu.EXIT_SUCCESS, qemu.EXIT_FAILURE, qemu.EXIT_PANIC]
    assert [qemurun.status_of(w, 'x86_64') for w in ('success', 'failure', 'panic')] == \
        [(code << 1) | 1 for code in (qemu.EXIT_SUCCESS, qemu.EXIT_FAILURE, qemu.EXIT_PANIC)]


def test_status_of_defaults_to_the_environment(monkeypatch):
    monkeypatch.setattr(qemurun, 'KARCH', 'aarch64')
    assert qemurun.status_of('panic') == 2
    monkeypatch.setattr(qemurun, 'KARCH', 'x86_64')
    assert qemurun.status_of('panic') == 5
