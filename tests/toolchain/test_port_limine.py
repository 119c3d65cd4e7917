"""The aarch64 and riscv64 ports booted by Limine under UEFI: aarch64 under
AAVMF (package qemu-efi-aarch64) with a ramfb as Limine's GOP framebuffer,
riscv64 under U-Boot's EFI (package u-boot-qemu).  Each image's kernel says
`boot: limine`, passes every self-test and leaves QEMU cleanly; on aarch64
the framebuffer console shows the log.  Without Limine, a port image stops
with the reason (no boot needed).

Needs LIMINE_DIR pointing at Limine's binary release and the firmware
package; skipped, with the reason shown, otherwise.  UEFI under TCG takes
several seconds per boot, so there are few boots here."""

import os
import re
import subprocess

import pytest

from tests.conftest import ROOT
from tests.toolchain.test_ports import PORT_TESTS, port_kernel
from tests.toolchain.test_selftest import SUMMARY
from tools import qemurun

LIMINE_DIR = os.environ.get('LIMINE_DIR', os.path.join(ROOT, 'limine'))
CMDLINE = 'elyz.selftest elyz.exit'
BANNER = 'Elyz 0.1.0 (%s, boot: limine)'


def limine_missing(karch):
    """Returns why karch's Limine image cannot be made or booted here, or
    None when it can."""
    env = dict(os.environ, LIMINE_DIR=LIMINE_DIR, KARCH=karch, ELYZ_INITRD='')
    config = subprocess.check_output(['sh', os.path.join(ROOT, 'tools', 'mkimage.sh'),
                                      'config'], env=env).decode('utf-8')
    if not config.startswith('loader: limine\n'):
        return 'Limine boots need LIMINE_DIR=<Limine binary release> (%s has none)' % LIMINE_DIR
    firmware, package = qemurun.PORT_FIRMWARE[karch]
    if not os.path.exists(firmware):
        return '%s needs %s (package %s)' % (karch, firmware, package)
    return None


def limine_image(karch, tmpdir, cmdline=CMDLINE):
    """Builds karch's kernel and its Limine ISO with cmdline; returns the
    ISO's path, or skips the test with the reason."""
    reason = limine_missing(karch)
    if reason:
        pytest.skip(reason)
    kernel = port_kernel(karch)
    iso = str(tmpdir.join('elyz-%s.iso' % karch))
    env = dict(os.environ, LIMINE_DIR=LIMINE_DIR, KARCH=karch, ELYZ_INITRD='')
    proc = subprocess.Popen(['sh', os.path.join(ROOT, 'tools', 'mkimage.sh'), 'iso', kernel, iso,
                             cmdline], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = proc.communicate()[0].decode('utf-8', 'replace')
    assert proc.returncode == 0, log
    assert 'UEFI, %s' % karch in log
    return iso


def boot(karch, iso, **kw):
    return qemurun.boot(image=iso, uefi=True, karch=karch, memory='512M', timeout=240, **kw)


@pytest.mark.parametrize('karch', ['aarch64', 'riscv64'])
def test_limine_image_boots_under_uefi_and_passes_every_selftest(karch, tmpdir):
    result = boot(karch, limine_image(karch, tmpdir))
    lines = result.log.splitlines()
    assert BANNER % karch in lines, 'QEMU status %s; tail:\n%s' % (result.status, result.tail())
    assert 'bootloader: Limine' in lines and 'command line: %s' % CMDLINE in lines
    assert [l for l in lines if l.startswith('interrupt controller: ')], result.tail()
    match = SUMMARY.search(result.log)
    assert match, result.tail()
    assert match.groups() == (str(len(PORT_TESTS)), '0', '0'), result.tail()
    for name in PORT_TESTS:
        assert 'TEST %s ok' % name in lines, name
    assert result.status == qemurun.status_of('success', karch), result.tail()


def test_aarch64_framebuffer_console_shows_the_log(tmpdir):
    # no elyz.exit: QEMU stays up for the screendump after the summary
    iso = limine_image('aarch64', tmpdir, cmdline='elyz.selftest')
    ppm = str(tmpdir.join('screen.ppm'))
    result = boot('aarch64', iso, until='%d passed' % len(PORT_TESTS), screendump=ppm)
    assert re.search(r'^framebuffer: 800x600, 32 bpp', result.log, re.M), result.tail()
    assert re.search(r'^console: 100x37 characters', result.log, re.M), result.tail()
    width, height, rgb = qemurun.read_ppm(ppm)
    assert (width, height) == (800, 600)
    # text on every 16-pixel row of the character grid: the log fills the screen
    rows_with_text = 0
    for row in range(37):
        y = row * 16 + 8
        line = rgb[y * width * 3:(y + 1) * width * 3]
        if any(line[i] > 0x40 for i in range(0, len(line))):
            rows_with_text += 1
    assert rows_with_text >= 30, rows_with_text


@pytest.mark.parametrize('karch', ['aarch64', 'riscv64'])
def test_a_port_image_without_limine_stops_with_the_reason(karch, tmpdir):
    kernel = tmpdir.join('elyz.elf')
    kernel.write('not looked at')
    env = dict(os.environ, LIMINE_DIR=str(tmpdir.join('no-limine')), KARCH=karch,
               ELYZ_INITRD='')
    proc = subprocess.Popen(['sh', os.path.join(ROOT, 'tools', 'mkimage.sh'), 'iso',
                             str(kernel), str(tmpdir.join('out.iso'))], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = proc.communicate()[0].decode('utf-8')
    assert proc.returncode != 0
    assert 'images for KARCH=%s need Limine' % karch in log
    assert "GRUB's Multiboot2 cannot load this kernel there" in log
    assert not tmpdir.join('out.iso').exists()
