"""Booting Elyz in QEMU and reading its serial log (tests, selftest, bench).

    boot(kernel=..., cmdline=..., ...)         direct PVH boot of the ELF
    boot(image=..., uefi=True|False, as_disk=False)   ISO/HDD via firmware
                              (the ports: uefi=True only, see port_uefi_flags)
        -> BootResult(log, status, seconds, timed_out, marker_seconds)

QEMU_FLAGS from the environment is appended to every command line, except
what would take COM1 away from us: qemurun reads the log from COM1 on
QEMU's stdout, so the options that route the serial port are left out
(user_flags):
    -serial file:PATH         what qemurun reads is also written to PATH (raw:
                              COM1's bytes, and any message of QEMU's own);
    -serial stdio, -serial mon:stdio, -nographic
                              dropped (the caller gets the log; `make
                              selftest` prints it, a failing test shows it);
    any other -serial X       dropped with a note on stderr; for
                              -serial chardev:ID its -chardev ...,id=ID too
                              (it may claim stdio, which is ours).
(The make targets that start QEMU instead leave out their own -serial
when QEMU_FLAGS has one: see QEMU_SERIAL in GNUmakefile.)
Stops when `until` (a string) appears in the log (QEMU is then killed),
when QEMU exits, or after `timeout` seconds.  QEMU's exit status with
isa-debug-exit is (code << 1) | 1.

The log has carriage returns and terminal control sequences taken out:
under UEFI, OVMF mirrors the console onto the serial port as a VT100
terminal, so a bootloader's screen clears and cursor moves (e.g. Limine's
"\x1b[2J\x1b[01;01H") would otherwise sit at the start of the kernel's
first line.
"""

from __future__ import print_function

import os
import re
import shlex
import subprocess
import time
import select
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
DEBUG_EXIT = ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
STATUS_SUCCESS = 1          # (EXIT_SUCCESS 0 << 1) | 1
STATUS_FAILURE = 3
STATUS_PANIC = 5
KARCH = os.environ.get('KARCH', 'x86_64')
# The ports boot QEMU's virt machine directly (-kernel); the kernel leaves
# QEMU through the machine's own device (elyz/kernel/qemu.py), whose exit
# status is the code itself.  binary, machine options, default CPU.
PORTS = {
    'aarch64': ('qemu-system-aarch64', ['-M', 'virt', '-semihosting-config',
                                        'enable=on,target=native'], 'cortex-a72'),
    'riscv64': ('qemu-system-riscv64', ['-M', 'virt'], 'rv64'),
    'loongarch64': ('qemu-system-loongarch64', ['-M', 'virt'], 'la464'),
}
PORT_STATUS = {'success': 0, 'failure': 1, 'panic': 2}
# loongarch64 runs on QEMU 10 from Debian's bookworm-backports, unpacked by
# tools/qemu-backports.sh (Debian 12's QEMU 7.2 emulates LoongArch with
# 16 KiB target pages, which break 4 KiB mappings: docs/ports.md).
BACKPORTS_QEMU_DIR = os.path.join(REPO, 'build', 'tools', 'qemu', 'usr', 'bin')
BACKPORTS = ('loongarch64',)


def port_binary(karch):
    """Returns the QEMU binary of a port: for loongarch64 the backports one
    when tools/qemu-backports.sh has fetched it, else the system's."""
    binary = PORTS[karch][0]
    if karch in BACKPORTS and os.path.exists(os.path.join(BACKPORTS_QEMU_DIR, binary)):
        return os.path.join(BACKPORTS_QEMU_DIR, binary)
    return binary


# loongarch64: QEMU's virt machine has no device whose exit status the
# guest chooses (no isa-debug-exit, no semihosting); the kernel powers it
# off through the ACPI GED, status 0 whatever happened: callers judge by
# the log (tools/selftest.py by its summary line).
POWER_OFF_ONLY = ('loongarch64',)
# loongarch64: QEMU 7.2 drops -append on a direct boot; the command line
# goes through fw_cfg too (arch/loongarch64/boot.c puts it into the device
# tree when the tree has none).  QEMU 7.2 also refuses a virt machine with
# less than 1 GiB (QEMU 10 does not): the minimum applies to it only.
PORT_MIN_MEMORY_MIB = {'loongarch64': 1024}
FW_CFG_CMDLINE = 'opt/org.elyz/cmdline'
_MEMORY_SIZE = re.compile(r'^(\d+)([MG]?)$')

# The ports' images boot through Limine under UEFI (GNUmakefile run-uefi
# has the same): aarch64 under AAVMF with acpi=off (only then does AAVMF
# hand over a device tree, which Limine passes on) and a ramfb (a GOP
# framebuffer); riscv64 under U-Boot's EFI, started in S-mode by QEMU's
# OpenSBI, the image as a virtio disk (U-Boot has no CD-ROM).
AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd'
AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd'
UBOOT_RISCV64 = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin'
PORT_FIRMWARE = {'aarch64': (AAVMF_CODE, 'qemu-efi-aarch64'),
                 'riscv64': (UBOOT_RISCV64, 'u-boot-qemu')}


def port_uefi_flags(karch, image, vars_copy):
    """Returns the QEMU options that boot image under karch's UEFI
    firmware (vars_copy: a writable copy of AAVMF's variables)."""
    drive = ['-drive', 'file=%s,format=raw,if=virtio,readonly=on' % image]
    if karch == 'aarch64':
        return ['-drive', 'if=pflash,unit=0,format=raw,readonly=on,file=' + AAVMF_CODE,
                '-drive', 'if=pflash,unit=1,format=raw,file=' + vars_copy,
                '-device', 'ramfb'] + drive
    if karch == 'riscv64':
        return ['-kernel', UBOOT_RISCV64] + drive
    raise ValueError('no UEFI boot for %s' % karch)


def status_of(what, karch=None):
    """Returns QEMU's exit status when the kernel of karch (default: KARCH)
    exits with what ('success', 'failure' or 'panic')."""
    karch = karch or KARCH
    if karch == 'x86_64':
        return {'success': STATUS_SUCCESS, 'failure': STATUS_FAILURE,
                'panic': STATUS_PANIC}[what]
    if karch in POWER_OFF_ONLY:
        return 0
    return PORT_STATUS[what]


def _port_memory(karch, memory):
    """Returns memory, raised to the smallest size karch's machine accepts."""
    minimum = PORT_MIN_MEMORY_MIB.get(karch, 0)
    if port_binary(karch) != PORTS[karch][0]:
        minimum = 0                                 # the backports QEMU
    match = _MEMORY_SIZE.match(memory)
    if minimum == 0 or match is None:
        return memory
    mib = int(match.group(1)) * (1024 if match.group(2) == 'G' else 1)
    return memory if mib >= minimum else '%dM' % minimum


# What routes the serial port in QEMU_FLAGS (as in GNUmakefile's QEMU_SERIAL).
SERIAL_OPTIONS = ('-serial', '--serial')
NOGRAPHIC_OPTIONS = ('-nographic', '--nographic')
CHARDEV_OPTIONS = ('-chardev', '--chardev')
# Serial routes qemurun honours itself (the log goes to its caller), without a note.
ROUTES_TO_CALLER = ('stdio', 'mon:stdio')
_noted = set()

# ESC [ params intermediates final (CSI); ESC ] ... BEL or ESC \\ (OSC);
# any other ESC and one character.
TERMINAL_CONTROL = re.compile(
    u'\x1b(?:\\[([0-?]*)[ -/]*([@-~])|\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|[@-~])')


def strip_terminal_control(text):
    """Returns text without carriage returns and terminal control sequences;
    a cursor move to column 1 (CSI row;1H, as OVMF sends between lines)
    becomes a line break unless the text already stands at a line start."""
    text = text.replace(u'\r', u'')
    out = []
    at_line_start = True
    last = 0
    for match in TERMINAL_CONTROL.finditer(text):
        piece = text[last:match.start()]
        last = match.end()
        if piece:
            out.append(piece)
            at_line_start = piece.endswith(u'\n')
        if match.group(2) in (u'H', u'f') and not at_line_start:
            params = match.group(1).split(u';')
            column = params[1] if len(params) > 1 else u''
            if column.lstrip(u'0') in (u'', u'1'):
                out.append(u'\n')
                at_line_start = True
    out.append(text[last:])
    return u''.join(out)


class BootResult(object):
    def __init__(self, log, status, seconds, timed_out, marker_seconds):
        self.log = log
        self.status = status
        self.seconds = seconds
        self.timed_out = timed_out
        self.marker_seconds = marker_seconds

    def tail(self, lines=40):
        return '\n'.join(self.log.splitlines()[-lines:])


def split_serial_options(flags):
    """Returns (flags without the options that route the serial port,
    the routes taken out): each `-serial X` gives X, `-nographic` gives
    'stdio', and a `-chardev ...,id=ID` goes too when a -serial chardev:ID
    was taken out. Cannot fail (a -serial without a value stays for QEMU
    to complain about)."""
    rest, routes = [], []
    i = 0
    while i < len(flags):
        if flags[i] in SERIAL_OPTIONS and i + 1 < len(flags):
            routes.append(flags[i + 1])
            i += 2
            continue
        if flags[i] in NOGRAPHIC_OPTIONS:
            routes.append('stdio')
        else:
            rest.append(flags[i])
        i += 1
    ids = [route[len('chardev:'):] for route in routes if route.startswith('chardev:')]
    return _without_chardevs(rest, ids), routes


def _chardev_id(value):
    """Returns the id of a -chardev value ('stdio,id=c0' -> 'c0'), or None."""
    for part in value.split(','):
        if part.startswith('id='):
            return part[len('id='):]
    return None


def _without_chardevs(flags, ids):
    """Returns flags without the -chardev options whose id is in ids."""
    rest = []
    i = 0
    while i < len(flags):
        if flags[i] in CHARDEV_OPTIONS and i + 1 < len(flags) and _chardev_id(flags[i + 1]) in ids:
            i += 2
            continue
        rest.append(flags[i])
        i += 1
    return rest


def user_flags():
    """Returns QEMU_FLAGS from the environment as a list, without the
    options that route the serial port (see split_serial_options), and the
    files (-serial file:PATH) that should get a copy of the log. Notes on
    stderr, once per process, each other serial route it leaves out."""
    flags, routes = split_serial_options(shlex.split(os.environ.get('QEMU_FLAGS', '')))
    files = [route[len('file:'):] for route in routes if route.startswith('file:')]
    for route in routes:
        if route not in ROUTES_TO_CALLER and not route.startswith('file:') \
                and route not in _noted:
            _noted.add(route)
            sys.stderr.write('qemurun: left out -serial %s from QEMU_FLAGS: COM1 is read by '
                             'qemurun (see tools/qemurun.py)\n' % route)
    return flags, files


def qemu_command(kernel=None, image=None, uefi=False, as_disk=False, cmdline='',
                 memory='128M', cpu='qemu64', icount=False, extra=(), vars_copy=None,
                 karch=None):
    karch = karch or KARCH
    if karch != 'x86_64':
        if image:
            extra = port_uefi_flags(karch, image, vars_copy) + list(extra)
        return _port_command(karch, kernel, cmdline, memory, icount, extra,
                             uefi_image=bool(image))
    cmd = ['qemu-system-x86_64', '-M', 'q35', '-cpu', cpu, '-m', memory, '-no-reboot',
           '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nodefaults']
    cmd += DEBUG_EXIT
    if icount:
        cmd += ['-icount', 'shift=0,sleep=off', '-rtc', 'clock=vm']
    if kernel:
        cmd += ['-kernel', kernel, '-append', cmdline]
    if image:
        if uefi:
            cmd += ['-drive', 'if=pflash,unit=0,format=raw,readonly=on,file=' + OVMF_CODE,
                    '-drive', 'if=pflash,unit=1,format=raw,file=' + vars_copy]
        if as_disk:
            cmd += ['-drive', 'format=raw,file=' + image]
        else:
            cmd += ['-cdrom', image, '-boot', 'd']
        cmd += ['-vga', 'std']
    cmd += list(extra)
    # QEMU_FLAGS (make's variable, exported) goes last: a later -m wins.
    cmd += user_flags()[0]
    return cmd


def read_ppm(path):
    """Returns (width, height, rgb bytes) of a binary PPM (QEMU's screendump).
    Raises ValueError when the header is cut short (QEMU still writing it)
    and AssertionError when the file is no binary PPM; the pixels may still
    be fewer than width * height."""
    with open(path, 'rb') as f:
        data = f.read()
    fields = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        if end >= len(data):
            raise ValueError('PPM header cut short: %d bytes' % len(data))
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b'P6', 'not a binary PPM'
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[pos + 1:pos + 1 + width * height * 3]


def _screendump(monitor_path, ppm_path, seconds=10.0):
    """Asks QEMU's monitor for a screendump; returns True once the file is complete."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(monitor_path)
    sock.settimeout(seconds)
    sock.sendall(('screendump %s\n' % ppm_path).encode('ascii'))
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(ppm_path):
            try:
                width, height, rgb = read_ppm(ppm_path)
                if len(rgb) == width * height * 3:
                    sock.close()
                    return True
            except (AssertionError, ValueError, IndexError):
                pass
        time.sleep(0.1)
    sock.close()
    return False


def _port_command(karch, kernel, cmdline, memory, icount, extra, uefi_image=False):
    binary, machine, cpu = PORTS[karch]
    binary = port_binary(karch)
    if uefi_image and karch == 'aarch64':
        machine = [('virt,acpi=off' if m == 'virt' else m) for m in machine]
    cmd = [binary] + machine + ['-m', _port_memory(karch, memory), '-no-reboot',
                                '-display', 'none', '-monitor', 'none', '-serial', 'stdio']
    if cpu:
        cmd += ['-cpu', cpu]
    if icount:
        cmd += ['-icount', 'shift=0,sleep=off']
    if kernel:
        cmd += ['-kernel', kernel, '-append', cmdline]
        if karch == 'loongarch64' and cmdline:
            cmd += ['-fw_cfg', 'name=%s,string=%s' % (FW_CFG_CMDLINE, cmdline.replace(',', ',,'))]
    cmd += list(extra)
    cmd += user_flags()[0]
    return cmd


def boot(kernel=None, image=None, uefi=False, as_disk=False, cmdline='', memory='128M',
         until=None, timeout=30.0, icount=False, extra=(), cpu='qemu64', screendump=None,
         karch=None):
    """Boots and returns a BootResult (never raises on a kernel failure).
    With screendump=path (needs `until`), the screen is saved there as a PPM
    once the marker appears, before QEMU is stopped."""
    copies = [open(path, 'wb') for path in user_flags()[1]]   # -serial file:PATH
    vars_copy = None
    monitor_path = None
    if screendump:
        import tempfile
        monitor_path = tempfile.mktemp(suffix='.monitor')
        extra = list(extra) + ['-monitor', 'unix:%s,server,nowait' % monitor_path]
    if uefi:
        import tempfile
        fd, vars_copy = tempfile.mkstemp(suffix='.fd')
        os.close(fd)
        source = AAVMF_VARS if (karch or KARCH) == 'aarch64' else OVMF_VARS
        if (karch or KARCH) == 'riscv64':
            source = os.devnull                 # U-Boot keeps no variables file
        with open(source, 'rb') as src, open(vars_copy, 'wb') as dst:
            dst.write(src.read())
    cmd = qemu_command(kernel, image, uefi, as_disk, cmdline, memory, cpu, icount, extra,
                       vars_copy, karch)
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=open(os.devnull))
    chunks = []
    marker_seconds = None
    timed_out = False
    fd = proc.stdout.fileno()
    try:
        while True:
            remaining = timeout - (time.time() - start)
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    break
                chunks.append(data)
                for copy in copies:
                    copy.write(data)
                if until is not None and marker_seconds is None:
                    text = b''.join(chunks).decode('latin-1')
                    if until in text:
                        marker_seconds = time.time() - start
                        if screendump:
                            _screendump(monitor_path, screendump)
                        break
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        rest = proc.communicate()[0]
        if rest:
            chunks.append(rest)
        for copy in copies:
            copy.write(rest or b'')
            copy.close()
        if vars_copy:
            os.remove(vars_copy)
        if monitor_path and os.path.exists(monitor_path):
            os.remove(monitor_path)
    log = strip_terminal_control(b''.join(chunks).decode('latin-1'))
    return BootResult(log, proc.returncode, time.time() - start, timed_out, marker_seconds)
