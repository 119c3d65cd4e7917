"""The set-up scripts fail with a message that says what is missing and how
to get it."""

import os
import shutil
import subprocess

from tests.conftest import ROOT


def run(cmd, env, cwd=None):
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode('utf-8', 'replace')
    return proc.returncode, out


def test_missing_python27_names_the_interpreter_to_install(tmpdir):
    tools = tmpdir.mkdir('tools')
    shutil.copy(os.path.join(ROOT, 'tools', 'setup-python.sh'), str(tools))
    env = {'PATH': '/usr/local/sbin:/usr/sbin:/sbin', 'HOME': str(tmpdir),
           'PYENV_ROOT': str(tmpdir.join('no-pyenv'))}
    status, out = run(['/bin/sh', str(tools.join('setup-python.sh'))], env)
    assert status != 0
    assert 'Python 2.7' in out and 'pyenv install 2.7.18' in out
    assert not tmpdir.join('.venv').check()


def test_missing_system_tools_as_non_root_are_named_with_their_packages(tmpdir):
    bin_dir = tmpdir.mkdir('bin')
    fake_id = bin_dir.join('id')
    fake_id.write('#!/bin/sh\necho 1000\n')
    fake_id.chmod(0o755)
    env = {'PATH': str(bin_dir)}
    status, out = run(['/bin/sh', os.path.join(ROOT, 'tools', 'setup-system.sh'),
                       'qemu', 'iso'], env)
    assert status != 0
    assert 'qemu-system-x86' in out and 'xorriso' in out and 'grub-common' in out
    assert 'apt-get install' in out


def test_nothing_missing_is_silent_success():
    status, out = run(['/bin/sh', os.path.join(ROOT, 'tools', 'setup-system.sh'), 'build'],
                      dict(os.environ))
    assert status == 0 and out == ''


def test_unsupported_karch_stops_make_with_the_supported_list():
    status, out = run(['make', '-s', 'KARCH=mips64', 'kernel'], dict(os.environ), cwd=ROOT)
    assert status != 0
    assert 'KARCH=mips64 is not an architecture Elyz knows' in out
    for karch in ('x86_64', 'aarch64', 'riscv64', 'loongarch64'):
        assert karch in out
