"""The aarch64 and riscv64 ports, translated and booted directly by QEMU's
virt machine (-kernel, the device tree): every self-test of a port passes
with a small and a large memory size, a panic leaves QEMU with the panic
status, and the ELF is what the loaders need (checked with pyelftools).

The loongarch64 port has its own module (test_port_loongarch64.py)."""

import os
import re
import subprocess

import pytest
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile

from tests.conftest import ROOT
from tests.toolchain.test_selftest import SUMMARY
from tools import qemurun

PORTS = ('aarch64', 'riscv64')
# Every self-test a port registers (elyz/kernel/portmain.py): the core,
# protection and object (descriptor model) tests of x86_64 less its
# CPU-register and SMAP/SMEP ones, and the ports' trap tests
# (elyz/kernel/port_selftests.py).  User mode is x86_64's only so far.
PORT_TESTS = ('pmm.alloc_every_free_frame', 'paging.map_translate_unmap',
              'heap.churn_back_to_baseline', 'runtime.memmove_overlap', 'console.scroll',
              'paging.kernel_tables_audit', 'paging.kernel_image_not_writable',
              'stacks.guard_pages_unmapped', 'stacks.rpython_check_catches_recursion',
              'interrupts.page_fault_caught', 'interrupts.breakpoint_returns',
              'interrupts.timer_ticks_advance', 'interrupts.timer_rate',
              'objects.allocate_describe_release', 'objects.stale_descriptor_refused',
              'objects.clone_rights_only_shrink', 'objects.borrow_and_death',
              'objects.lease_expires_on_timer', 'objects.map_checks',
              'objects.release_unmaps', 'objects.transfer_rules', 'objects.table_full',
              'objects.process_lifecycle', 'objects.pools_exhausted',
              'objects.out_of_frames', 'objects.no_leak_churn')
ELF_MACHINE = {'aarch64': 'EM_AARCH64', 'riscv64': 'EM_RISCV'}
# Where each port's image is loaded (elyz/boot/layout.py, arch/<karch>/linker.ld).
LOAD_BASE = {'aarch64': 0x40200000, 'riscv64': 0x80200000}
KERNEL_VMA = 0xffffffff80000000
UART_BASES = {'aarch64': 'pl011 at 0x9000000', 'riscv64': 'ns16550 at 0x10000000'}

_built = {}


def port_kernel(karch):
    """Builds (once per session) and returns the kernel ELF of karch."""
    if karch not in _built:
        env = dict(os.environ, KARCH=karch)
        proc = subprocess.Popen(['make', '-s', 'kernel', 'KARCH=' + karch], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.communicate()[0]
        if proc.returncode != 0:
            pytest.fail('make kernel KARCH=%s failed:\n%s'
                        % (karch, out.decode('utf-8', 'replace')[-4000:]))
        _built[karch] = os.path.join(ROOT, 'build', karch, 'kernel', 'elyz.elf')
    return _built[karch]


def boot(karch, cmdline, memory='128M', timeout=60.0):
    return qemurun.boot(kernel=port_kernel(karch), cmdline=cmdline, memory=memory,
                        timeout=timeout, karch=karch)


@pytest.mark.parametrize('karch', PORTS)
@pytest.mark.parametrize('memory', ['128M', '2G'])
def test_every_selftest_passes(karch, memory):
    result = boot(karch, 'elyz.selftest elyz.exit', memory)
    log = result.log
    assert 'Elyz ' in log and '(%s, boot: devicetree)' % karch in log, result.tail()
    match = SUMMARY.search(log)
    assert match, 'no self-test summary (QEMU status %s):\n%s' % (result.status, result.tail())
    failures = re.findall(r'^TEST (\S+) FAIL (.*)$', log, re.M)
    assert failures == [], result.tail()
    ran = re.findall(r'^TEST (\S+) ok$', log, re.M)
    assert sorted(ran) == sorted(PORT_TESTS), result.tail()
    assert match.group(2) == '0' and match.group(3) == '0'
    assert result.status == qemurun.status_of('success', karch), result.tail()


@pytest.mark.parametrize('karch', PORTS)
def test_the_device_tree_gives_memory_uart_and_command_line(karch):
    result = boot(karch, 'elyz.exit some.word', '2G')
    log = result.log
    assert 'command line: elyz.exit some.word' in log, result.tail()
    assert UART_BASES[karch] in log, result.tail()
    usable = re.search(r'^memory: (\d+) MiB usable', log, re.M)
    assert usable and 1900 <= int(usable.group(1)) <= 2048, result.tail()
    assert 'paging: kernel page tables at' in log
    assert result.status == qemurun.status_of('success', karch), result.tail()


@pytest.mark.parametrize('karch', PORTS)
def test_a_panic_is_reported_and_leaves_qemu_with_the_panic_status(karch):
    result = boot(karch, 'elyz.panic elyz.exit')
    assert 'requested on the command line (elyz.panic)' in result.log, result.tail()
    assert result.status == qemurun.status_of('panic', karch), result.tail()


@pytest.mark.parametrize('karch', PORTS)
def test_elf_is_a_freestanding_higher_half_image(karch):
    with open(port_kernel(karch), 'rb') as f:
        elf = ELFFile(f)
        assert elf.elfclass == 64 and elf.little_endian
        assert elf['e_machine'] == ELF_MACHINE[karch]
        loads = [s for s in elf.iter_segments() if s['p_type'] == 'PT_LOAD']
        # Loaded where the port's QEMU entry expects it, linked higher half.
        assert min(s['p_paddr'] for s in loads) == LOAD_BASE[karch]
        for s in loads:
            assert s['p_vaddr'] - s['p_paddr'] == KERNEL_VMA + 0x200000 - LOAD_BASE[karch]
        # The entry is _start's physical address (QEMU jumps there, MMU off).
        start = elf.get_section_by_name('.symtab').get_symbol_by_name('_start')[0]
        assert elf['e_entry'] == start['st_value'] - KERNEL_VMA - 0x200000 + LOAD_BASE[karch]
        # W^X in the image: only the boot segment (entry code, early tables)
        # is writable and executable; the kernel maps each section itself.
        wx = [s for s in loads if s['p_flags'] & P_FLAGS.PF_W and s['p_flags'] & P_FLAGS.PF_X]
        assert len(wx) == 1 and wx[0]['p_paddr'] == LOAD_BASE[karch]
        text = elf.get_section_by_name('.text')
        text_segment = [s for s in loads if s.section_in_segment(text)]
        assert text_segment[0]['p_flags'] == P_FLAGS.PF_R | P_FLAGS.PF_X
        symbols = elf.get_section_by_name('.symtab')
        for name in ('printf', 'malloc_usable_size', 'pthread_create', '__stack_chk_fail'):
            assert not symbols.get_symbol_by_name(name)
        assert not any(s['p_type'] == 'PT_INTERP' for s in elf.iter_segments())
