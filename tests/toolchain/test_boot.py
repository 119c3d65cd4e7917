"""Translated boot tests: the same kernel ELF booted by every path.

Each boot waits for a unique marker on the serial log and fails with the
log's tail.  Limine boots need LIMINE_DIR pointing at Limine's binary
release (skipped, with the reason shown, otherwise)."""

import os
import re
import subprocess

import pytest

from tests.conftest import ROOT
from tools import qemurun

BANNER = re.compile(r'^Elyz \d+\.\d+\.\d+ \(x86_64, boot: (limine|multiboot2|pvh)\)$', re.M)
LIMINE_DIR = os.environ.get('LIMINE_DIR', os.path.join(ROOT, 'limine'))


def mkimage_config(limine_dir, cmdline=''):
    """Returns what `tools/mkimage.sh config` prints with LIMINE_DIR=limine_dir:
    the loader it would use ('loader: limine' or 'loader: grub' first).  No boot
    archive (ELYZ_INITRD empty: `make test` exports the real one, which may
    or may not be built yet)."""
    env = dict(os.environ, LIMINE_DIR=str(limine_dir), ELYZ_INITRD='')
    return subprocess.check_output(['sh', os.path.join(ROOT, 'tools', 'mkimage.sh'), 'config',
                                    cmdline], env=env).decode('utf-8')


HAVE_LIMINE = mkimage_config(LIMINE_DIR).startswith('loader: limine\n')
needs_limine = pytest.mark.skipif(
    not HAVE_LIMINE, reason='Limine boots need LIMINE_DIR=<Limine binary release> (%s has none)'
    % LIMINE_DIR)


def make_image(kind, kernel, out, cmdline, limine):
    env = dict(os.environ)
    env['LIMINE_DIR'] = LIMINE_DIR if limine else os.path.join(str(out) + '.nolimine')
    proc = subprocess.Popen(['sh', os.path.join(ROOT, 'tools', 'mkimage.sh'), kind, kernel,
                             str(out), cmdline], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    log = proc.communicate()[0].decode('utf-8', 'replace')
    assert proc.returncode == 0, log
    return log


def assert_booted(result, protocol):
    match = BANNER.search(result.log)
    assert match, 'no banner; QEMU status %s; log tail:\n%s' % (result.status, result.tail())
    assert match.group(1) == protocol, result.tail()
    first_kernel_line = result.log[match.start():].splitlines()[0]
    assert first_kernel_line == match.group(0)
    assert result.status == qemurun.STATUS_SUCCESS, \
        'QEMU status %s, expected a clean elyz.exit; tail:\n%s' % (result.status, result.tail())


def test_pvh_direct_boot_prints_banner_and_exits(kernel_elf):
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.exit', until=None, timeout=30)
    assert_booted(result, 'pvh')
    assert 'no framebuffer' in result.log
    assert result.seconds < 10


def test_grub_iso_boots_under_bios(kernel_elf, tmpdir):
    iso = tmpdir.join('grub.iso')
    assert 'using GRUB' in make_image('iso', kernel_elf, iso, 'elyz.exit', limine=False)
    result = qemurun.boot(image=str(iso), uefi=False, timeout=60)
    assert_booted(result, 'multiboot2')
    assert re.search(r'^framebuffer: \d+x\d+, \d+ bpp', result.log, re.M), result.tail()


def test_grub_hdd_boots_under_uefi(kernel_elf, tmpdir):
    hdd = tmpdir.join('grub.hdd')
    make_image('hdd', kernel_elf, hdd, 'elyz.exit', limine=False)
    result = qemurun.boot(image=str(hdd), uefi=True, as_disk=True, timeout=120)
    assert_booted(result, 'multiboot2')


def test_grub_hdd_is_gpt_with_an_esp_and_boots_under_bios(kernel_elf, tmpdir):
    hdd = tmpdir.join('grub-bios.hdd')
    make_image('hdd', kernel_elf, hdd, 'elyz.exit', limine=False)
    table = subprocess.check_output(['sfdisk', '-l', str(hdd)]).decode('utf-8')
    assert 'Disklabel type: gpt' in table and 'EFI System' in table, table
    result = qemurun.boot(image=str(hdd), uefi=False, as_disk=True, timeout=60)
    assert_booted(result, 'multiboot2')


@needs_limine
def test_limine_iso_boots_under_bios(kernel_elf, tmpdir):
    iso = tmpdir.join('limine.iso')
    assert 'Limine' in make_image('iso', kernel_elf, iso, 'elyz.exit', limine=True)
    result = qemurun.boot(image=str(iso), uefi=False, timeout=60)
    assert_booted(result, 'limine')
    assert re.search(r'^framebuffer: \d+x\d+, \d+ bpp', result.log, re.M), result.tail()


@needs_limine
def test_limine_iso_boots_under_uefi(kernel_elf, tmpdir):
    iso = tmpdir.join('limine-uefi.iso')
    make_image('iso', kernel_elf, iso, 'elyz.exit', limine=True)
    result = qemurun.boot(image=str(iso), uefi=True, timeout=120)
    assert_booted(result, 'limine')


@needs_limine
def test_limine_hdd_boots_under_uefi(kernel_elf, tmpdir):
    hdd = tmpdir.join('limine.hdd')
    make_image('hdd', kernel_elf, hdd, 'elyz.exit', limine=True)
    result = qemurun.boot(image=str(hdd), uefi=True, as_disk=True, timeout=120)
    assert_booted(result, 'limine')


@needs_limine
def test_limine_hdd_boots_under_bios(kernel_elf, tmpdir):
    hdd = tmpdir.join('limine-bios.hdd')
    make_image('hdd', kernel_elf, hdd, 'elyz.exit', limine=True)
    result = qemurun.boot(image=str(hdd), uefi=False, as_disk=True, timeout=60)
    assert_booted(result, 'limine')


def test_a_panic_reports_on_serial_and_leaves_qemu_with_the_panic_status(kernel_elf):
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.panic elyz.exit', timeout=30)
    assert 'PANIC: requested on the command line (elyz.panic)' in result.log, result.tail()
    assert 'RPython traceback:' in result.log, result.tail()
    assert result.status == qemurun.STATUS_PANIC, result.tail()


def test_a_panic_with_a_framebuffer_paints_the_panic_screen(kernel_elf, tmpdir):
    iso = tmpdir.join('panic.iso')
    make_image('iso', kernel_elf, iso, 'elyz.panic', limine=False)
    shot = str(tmpdir.join('panic.ppm'))
    # The panic screen is painted between the PANIC line and the traceback.
    result = qemurun.boot(image=str(iso), timeout=60, until='RPython traceback:',
                          screendump=shot)
    assert re.search(r'^console: \d+x\d+ characters', result.log, re.M), result.tail()
    assert 'PANIC: requested on the command line' in result.log, result.tail()
    width, height, rgb = qemurun.read_ppm(shot)
    red = 0
    for offset in range(0, len(rgb), 3 * 97):          # a sample of the pixels
        r, g, b = bytearray(rgb[offset:offset + 3])
        if r > 128 and g < 64 and b < 64:
            red += 1
    samples = len(rgb) // (3 * 97)
    assert red > samples // 2, 'the screen is not mostly red (%d of %d samples)' % (red, samples)


def test_read_ppm_refuses_a_screendump_cut_short(tmpdir):
    # QEMU creates the file before writing it: _screendump reads it meanwhile.
    ppm = tmpdir.join('shot.ppm')
    whole = b'P6\n2 1\n255\n' + b'\xff\0\0' * 2
    ppm.write(whole, mode='wb')
    assert qemurun.read_ppm(str(ppm)) == (2, 1, b'\xff\0\0' * 2)
    for cut in range(len(b'P6\n2 1\n255\n')):
        ppm.write(whole[:cut], mode='wb')
        with pytest.raises(ValueError):
            qemurun.read_ppm(str(ppm))
