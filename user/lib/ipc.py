"""Channels from user programs (RPython): the channel system calls of
elyz/abi/syscalls.py with Python arguments (docs/abi.md, docs/ipc.md).

    create(rights, ends) -> 0 after appending the two endpoint descriptors
        to the list ends, or a negative E_* code
    send(endpoint, data, descs) -> 0 or E_*: the string data and the
        descriptor values of the list descs (they move into the message)
    receive(endpoint, message, flags) -> 0 or E_*: the next message into
        message (a Message: its data string and descs list); flags
        RECV_NONBLOCK or 0 (block until one comes)
    wait_any(descs, flags) -> the index of the first ready descriptor of the
        list descs (an endpoint with a message or whose peer is gone, a
        process that exited), or E_*
    call_regs(endpoint, data, message) -> 0 or E_*: channel_call_regs, the
        string data (at most REGS_BYTES) out and the reply into message.data,
        both in registers
    raw_call_regs(endpoint, length, words) -> the system call itself, inline:
        the four words at address words go out in rdx, r10, r8, r9 and the
        reply's come back there (the generated stub returns rax only)
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.abi import limits, syscalls
from user.lib import api, process

RECV_NONBLOCK = 1
COUNT_SHIFT = 32
LENGTH_MASK = (1 << 32) - 1
REGS_BYTES = syscalls.REGISTER_MESSAGE_BYTES

# channel_call_regs with its four words in and out of registers (docs/abi.md).
_REGS_ECI = ExternalCompilationInfo(post_include_bits=["""
static inline long elyz_ipc_call_regs(long endpoint, long length, long words)
{
    long *w = (long *)words;
    long rax = %d;
    register long rdx __asm__("rdx") = w[0];
    register long r10 __asm__("r10") = w[1];
    register long r8 __asm__("r8") = w[2];
    register long r9 __asm__("r9") = w[3];
    __asm__ volatile("syscall" : "+a"(rax), "+r"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "D"(endpoint), "S"(length) : "rcx", "r11", "memory");
    w[0] = rdx; w[1] = r10; w[2] = r8; w[3] = r9;
    return rax;
}
""" % syscalls.SYS_CHANNEL_CALL_REGS])


def _no_kernel(endpoint, length, words):
    raise api.NoKernel("channel_call_regs: untranslated, there is no kernel")


_call_regs = rffi.llexternal('elyz_ipc_call_regs', [lltype.Signed] * 3, lltype.Signed,
                             compilation_info=_REGS_ECI, _nowrapper=True, _callable=_no_kernel)


class Message(object):
    def __init__(self):
        self.data = ''
        self.descs = []


class _Buffers(object):
    """Raw buffers, made once: a message's bytes and descriptor values."""

    def __init__(self):
        self.bytes = lltype.nullptr(rffi.CCHARP.TO)
        self.words = lltype.nullptr(rffi.LONGP.TO)

    def ready(self):
        if not self.bytes:
            self.bytes = lltype.malloc(rffi.CCHARP.TO, limits.MAX_MESSAGE_BYTES, flavor='raw')
            self.words = lltype.malloc(rffi.LONGP.TO, limits.MAX_MESSAGE_DESCRIPTORS,
                                       flavor='raw')


_buffers = _Buffers()


def _bytes():
    return rffi.cast(lltype.Signed, _buffers.bytes)


def _words():
    return rffi.cast(lltype.Signed, _buffers.words)


def create(rights, ends):
    _buffers.ready()
    status = api.sys_channel_create(rights, _words())
    if status == 0:
        ends.append(_buffers.words[0])
        ends.append(_buffers.words[1])
    return status


def send(endpoint, data, descs):
    _buffers.ready()
    count = len(descs)
    if count > limits.MAX_MESSAGE_DESCRIPTORS:
        count = limits.MAX_MESSAGE_DESCRIPTORS + 1      # the kernel says E_INVALID
    i = 0
    while i < len(descs) and i < limits.MAX_MESSAGE_DESCRIPTORS:
        _buffers.words[i] = descs[i]
        i += 1
    length = len(data)
    if length > limits.MAX_MESSAGE_BYTES:
        return api.sys_channel_send(endpoint, _bytes(), length,
                                    _words(), count)
    i = 0
    while i < length:
        _buffers.bytes[i] = data[i]
        i += 1
    return api.sys_channel_send(endpoint, _bytes(), length,
                                _words(), count)


def receive(endpoint, message, flags):
    _buffers.ready()
    result = api.sys_channel_recv(endpoint, _bytes(), limits.MAX_MESSAGE_BYTES,
                                  _words(), limits.MAX_MESSAGE_DESCRIPTORS,
                                  flags)
    if result < 0:
        return result
    length = result & LENGTH_MASK
    count = result >> COUNT_SHIFT
    message.data = rffi.charpsize2str(_buffers.bytes, length)
    descs = []
    i = 0
    while i < count:
        descs.append(_buffers.words[i])
        i += 1
    message.descs = descs
    return 0


def wait_any(descs, flags):
    words = process.raw_words(descs)
    result = api.sys_wait_any(rffi.cast(lltype.Signed, words), len(descs), flags)
    lltype.free(words, flavor='raw')
    return result


def raw_call_regs(endpoint, length, words):
    return _call_regs(endpoint, length, words)


def call_regs(endpoint, data, message):
    _buffers.ready()
    length = len(data)
    i = 0
    while i < REGS_BYTES:
        _buffers.bytes[i] = data[i] if i < length else '\x00'
        i += 1
    result = _call_regs(endpoint, length, _bytes())
    if result < 0:
        return result
    message.data = rffi.charpsize2str(_buffers.bytes, result)
    message.descs = []
    return 0
