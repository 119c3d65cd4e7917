"""The make targets around the kernel: images that follow the loader choice
and ELYZ_CMDLINE, and QEMU_FLAGS that route the serial port.

make runs in a scratch tree (GNUmakefile, tools/, limine.conf, and a link
to the session's kernel, which `make -o` keeps as it is), so the repository's
Elyz.iso and build/ are left alone.  Boots use BIOS (the fastest path);
the Limine half needs LIMINE_DIR=<Limine binary release> and is skipped,
with the reason shown, without it."""

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import KARCH, ROOT
from tests.toolchain.test_boot import LIMINE_DIR, assert_booted, mkimage_config, needs_limine
from tools import qemurun

KERNEL = 'build/%s/kernel/elyz.elf' % KARCH
# The banner anywhere in a line: under -nographic, firmware text precedes it.
BANNER = re.compile(r'Elyz \d+\.\d+\.\d+ \(x86_64, boot: (limine|multiboot2|pvh)\)')
# make's report of QEMU's exit status 1: elyz.exit after a clean boot.
CLEAN_EXIT = re.compile(r'\] Error %d$' % qemurun.STATUS_SUCCESS, re.M)


@pytest.fixture
def tree(kernel_elf, tmpdir):
    """Returns a scratch tree where make can build images of the session's kernel."""
    return make_tree(kernel_elf, tmpdir.join('tree'))


def make_tree(kernel_elf, path):
    """Returns path (a py.path) filled with what the image and run targets
    read: copies of GNUmakefile, limine.conf and tools/, and a link to
    kernel_elf."""
    for name in ('GNUmakefile', 'limine.conf'):
        shutil.copy2(os.path.join(ROOT, name), str(path.ensure(name)))
    shutil.copytree(os.path.join(ROOT, 'tools'), str(path.join('tools')),
                    ignore=shutil.ignore_patterns('*.pyc', '__pycache__'))
    link = path.join(KERNEL)
    link.dirpath().ensure(dir=True)
    os.symlink(kernel_elf, str(link))
    return path


def make(tree, *args, **kwargs):
    """Runs make in tree with args (stdin: the bytes `typed`, empty by
    default; killed after `timeout` seconds); returns (exit status, stdout
    and stderr)."""
    timeout = kwargs.pop('timeout', 120)
    typed = kwargs.pop('typed', b'')
    assert not kwargs, kwargs
    cmd = ['timeout', str(timeout), 'make', '-C', str(tree), '--no-print-directory', '-o', KERNEL,
           'ELYZ_INITRD=']         # the scratch tree has no user image to pack
    proc = subprocess.Popen(cmd + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate(typed)[0].decode('utf-8', 'replace')
    return proc.returncode, out


def make_ok(tree, *args):
    """Runs make in tree; returns its output. Fails the test when make fails."""
    status, out = make(tree, *args)
    assert status == 0, 'make %s: status %s\n%s' % (' '.join(args), status, out)
    return out


def stamp(path):
    """Returns what tells whether the file at path was written anew (mtime, inode)."""
    st = os.stat(str(path))
    return st.st_mtime, st.st_ino


def boot_iso(tree, protocol):
    """Boots tree's Elyz.iso under BIOS; fails the test unless the banner
    names protocol and elyz.exit left QEMU cleanly. Returns the log."""
    result = qemurun.boot(image=str(tree.join('Elyz.iso')), uefi=False, timeout=60)
    assert_booted(result, protocol)
    return result.log


def fake_limine(path):
    """Returns path filled with stand-ins for Limine's files (zeros, and a
    host tool that does nothing): enough for make and mkimage.sh to build an
    image, which would not boot."""
    for name in ('limine-bios.sys', 'limine-bios-cd.bin', 'limine-uefi-cd.bin', 'BOOTX64.EFI'):
        path.ensure(name).write(b'\0' * 65536, mode='wb')
    tool = path.join('limine')
    tool.write('#!/bin/sh\nexit 0\n')
    tool.chmod(0o755)
    return path


# --- (A) the images follow the loader choice and ELYZ_CMDLINE -------------

def test_mkimage_config_names_the_loader_the_limine_files_and_the_command_line(tmpdir):
    empty = tmpdir.ensure('empty', dir=True)
    limine = fake_limine(tmpdir.join('limine'))
    if mkimage_config(empty).startswith('loader: limine'):
        pytest.skip('an installed limine (limine --print-datadir) is used even without LIMINE_DIR')
    assert mkimage_config(empty, 'elyz.exit') == 'loader: grub\ncmdline: elyz.exit\n'
    config = mkimage_config(limine)
    assert config.startswith('loader: limine\n'), config
    assert str(limine.join('limine-bios.sys')) in config, config
    assert str(limine.join('limine')) in config, config        # the host tool
    limine.join('limine-bios.sys').write(b'\1' * 65536, mode='wb')   # same size, new content
    assert mkimage_config(limine) != config


def test_a_new_elyz_cmdline_rebuilds_the_image_and_the_same_one_does_not(tree, tmpdir):
    empty = 'LIMINE_DIR=%s' % tmpdir.ensure('no-limine', dir=True)
    out = make_ok(tree, 'all', empty, 'ELYZ_CMDLINE=')
    assert 'using GRUB' in out, out
    before = stamp(tree.join('Elyz.iso'))
    out = make_ok(tree, 'all', empty, 'ELYZ_CMDLINE=elyz.exit')
    assert 'using GRUB' in out and stamp(tree.join('Elyz.iso')) != before, \
        'a new ELYZ_CMDLINE did not rebuild Elyz.iso:\n' + out
    log = boot_iso(tree, 'multiboot2')        # elyz.exit: QEMU leaves with status 1
    assert re.search(r'^command line: elyz\.exit$', log, re.M), log
    again = stamp(tree.join('Elyz.iso'))
    out = make_ok(tree, 'all', empty, 'ELYZ_CMDLINE=elyz.exit')
    assert 'image:' not in out and stamp(tree.join('Elyz.iso')) == again, \
        'the same settings rebuilt Elyz.iso:\n' + out


def test_leaving_limine_or_changing_its_files_rebuilds_the_image(tree, tmpdir):
    empty = 'LIMINE_DIR=%s' % tmpdir.ensure('no-limine', dir=True)
    limine = fake_limine(tmpdir.join('fake-limine'))
    with_limine = 'LIMINE_DIR=%s' % limine
    if mkimage_config(tmpdir.join('no-limine')).startswith('loader: limine'):
        pytest.skip('an installed limine (limine --print-datadir) is used even without LIMINE_DIR')
    make_ok(tree, 'all', empty, 'ELYZ_CMDLINE=elyz.exit')
    out = make_ok(tree, 'all', with_limine, 'ELYZ_CMDLINE=elyz.exit')
    assert 'image: Limine from %s' % limine in out, 'GRUB -> Limine did not rebuild:\n' + out
    limine.join('limine-bios.sys').write(b'\1' * 65536, mode='wb')
    out = make_ok(tree, 'all', with_limine, 'ELYZ_CMDLINE=elyz.exit')
    assert 'image: Limine from' in out, 'a changed Limine file did not rebuild:\n' + out
    out = make_ok(tree, 'all', empty, 'ELYZ_CMDLINE=elyz.exit')
    assert 'using GRUB' in out, 'Limine -> GRUB did not rebuild:\n' + out
    boot_iso(tree, 'multiboot2')


@needs_limine
def test_images_follow_limine_dir_from_grub_to_limine_and_back(tree, tmpdir):
    empty = 'LIMINE_DIR=%s' % tmpdir.ensure('no-limine', dir=True)
    for limine_dir, protocol in ((empty, 'multiboot2'), ('LIMINE_DIR=' + LIMINE_DIR, 'limine'),
                                 (empty, 'multiboot2')):
        make_ok(tree, 'all', limine_dir, 'ELYZ_CMDLINE=elyz.exit')
        boot_iso(tree, protocol)
    out = make_ok(tree, 'all-hdd', 'LIMINE_DIR=' + LIMINE_DIR, 'ELYZ_CMDLINE=elyz.exit')
    assert 'image: Limine from' in out, out
    result = qemurun.boot(image=str(tree.join('Elyz.hdd')), as_disk=True, timeout=60)
    assert_booted(result, 'limine')


# --- (B) QEMU_FLAGS may say where COM1 goes ------------------------------

RUN_TARGETS = ('run', 'run-uefi', 'run-bios', 'run-hdd', 'run-hdd-bios', 'debug')
SERIAL_FLAGS = ('-serial stdio', '-serial file:{tmp}/com1.log', '-nographic',
                '-serial mon:stdio', '-chardev stdio,id=com1 -serial chardev:com1')


def serial_routes(words):
    """Returns the serial and monitor options in a QEMU command line (a list
    of words): -serial X and -monitor X as one string each, and -nographic."""
    routes = []
    for i, word in enumerate(words):
        if word in ('-serial', '-monitor'):
            routes.append(word + ' ' + words[i + 1])
        elif word == '-nographic':
            routes.append(word)
    return routes


@pytest.mark.parametrize('flags', ('',) + SERIAL_FLAGS)
def test_every_qemu_target_leaves_com1_to_qemu_flags(tree, tmpdir, flags):
    flags = flags.format(tmp=tmpdir)
    wanted = serial_routes(flags.split())
    if not flags:
        wanted = ['-serial stdio', '-monitor none']          # ours: COM1 on the terminal
    elif flags != '-nographic':
        wanted = ['-monitor none'] + wanted
    for target in RUN_TARGETS:
        out = make_ok(tree, '-n', target, 'QEMU_FLAGS=' + flags)
        lines = [line for line in out.splitlines() if line.startswith('qemu-system-')]
        assert len(lines) == 1, out
        assert serial_routes(lines[0].split()) == wanted, '%s: %s' % (target, lines[0])


@pytest.fixture(scope='module')
def run_tree(kernel_elf, tmpdir_factory):
    """Returns a scratch tree with a GRUB Elyz.iso that boots with elyz.exit."""
    path = tmpdir_factory.mktemp('run')
    tree = make_tree(kernel_elf, path.join('tree'))
    make_ok(tree, 'all', 'LIMINE_DIR=%s' % tree.ensure('no-limine', dir=True),
            'ELYZ_CMDLINE=elyz.exit')
    return tree


@pytest.mark.parametrize('flags', ('',) + SERIAL_FLAGS)
def test_make_run_bios_sends_com1_where_qemu_flags_say(run_tree, tmpdir, flags):
    flags = flags.format(tmp=tmpdir)
    status, out = make(run_tree, 'run-bios', 'LIMINE_DIR=%s' % run_tree.join('no-limine'),
                       'ELYZ_CMDLINE=elyz.exit', 'QEMU_FLAGS=' + flags, timeout=60)
    assert 'image:' not in out, 'the image was rebuilt:\n' + out
    # QEMU's status 1 (a clean elyz.exit) makes make report "Error 1".
    assert status == 2 and CLEAN_EXIT.search(out), 'status %s:\n%s' % (status, out)
    if 'file:' in flags:
        log = tmpdir.join('com1.log').read_binary().decode('latin-1')
        assert not BANNER.search(out), 'COM1 went to the terminal:\n' + out
    else:
        log = out
    match = BANNER.search(log)
    assert match and match.group(1) == 'multiboot2', log


def test_make_run_bios_with_nographic_has_qemus_ctrl_a_x(run_tree):
    # -nographic: QEMU's serial+monitor multiplexer on stdio (not our -monitor none).
    status, out = make(run_tree, 'run-bios', 'LIMINE_DIR=%s' % run_tree.join('no-limine'),
                       'ELYZ_CMDLINE=elyz.exit', 'QEMU_FLAGS=-nographic', typed=b'\x01x',
                       timeout=60)
    assert status == 0 and 'QEMU: Terminated' in out, 'status %s:\n%s' % (status, out)


def test_qemurun_takes_serial_routes_out_of_qemu_flags():
    split = qemurun.split_serial_options
    assert split(['-m', '64M']) == (['-m', '64M'], [])
    assert split(['-serial', 'stdio', '-m', '64M']) == (['-m', '64M'], ['stdio'])
    assert split(['-nographic']) == ([], ['stdio'])
    assert split(['-chardev', 'stdio,id=c0', '-chardev', 'null,id=c1', '-serial', 'chardev:c0']) \
        == (['-chardev', 'null,id=c1'], ['chardev:c0'])


@pytest.mark.parametrize('flags', SERIAL_FLAGS + ('-serial tcp:127.0.0.1:9,server=off',))
def test_qemurun_reads_com1_whatever_qemu_flags_say(kernel_elf, tmpdir, monkeypatch, flags):
    flags = flags.format(tmp=tmpdir)
    monkeypatch.setenv('QEMU_FLAGS', flags)
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.exit', timeout=30)
    assert_booted(result, 'pvh')
    if 'file:' in flags:       # and a copy of the log where QEMU_FLAGS asked for it
        copy = tmpdir.join('com1.log').read_binary().decode('latin-1')
        assert qemurun.strip_terminal_control(copy) == result.log
