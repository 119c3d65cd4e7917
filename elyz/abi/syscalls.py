"""The one system-call table (docs/abi.md, "System calls").

    SYSCALLS    (number, name, argument names, what it returns) for every call;
                the kernel's dispatcher, the user runtime's stubs, the C
                header user/include/elyz_abi.h and docs/abi.md are made from
                it or checked against it
    SYS_<NAME>  the numbers, as module constants
    ERRORS      name -> the error codes (names of elyz/abi/errors.py) the
                call can return, as docs/abi.md lists them: the pairs the
                conformance program (user/conform.py) must each provoke
    MAX_ARGS    6
    REGISTER_MESSAGE_BYTES   32: what channel_call_regs's words w0-w3 (rdx,
                r10, r8, r9) hold, its request and then its reply

Register convention (x86_64): `syscall` with the number in rax and the
arguments in rdi, rsi, rdx, r10, r8, r9; the result comes back in rax, a
negative result being an error code of elyz/abi/errors.py.  The call
clobbers rcx and r11 (the CPU's own use of them) and nothing else;
channel_call_regs also writes its reply into w0-w3 when it
succeeds (the generated C stub returns only rax: user/lib/ipc.py has the
inline call that reads them).
"""

MAX_ARGS = 6

SYSCALLS = [
    (0, 'debug_write', ('ptr', 'length'), 'bytes written'),
    (1, 'exit', ('code',), 'never returns'),
    (2, 'yield', (), '0'),
    (3, 'sleep', ('ticks',), '0'),
    (4, 'clock', (), 'timer ticks since boot'),
    (5, 'spawn', ('image', 'descs', 'count', 'args', 'args_length'),
     'a strong Process descriptor'),
    (6, 'wait', ('process',), 'the exit code'),
    (7, 'self', ('rights',), 'a strong Process descriptor to the caller'),
    (8, 'counters', ('out',), '0'),
    (10, 'allocate', ('size', 'rights'), 'a strong MemoryObject descriptor'),
    (11, 'clone', ('desc', 'rights'), 'a descriptor'),
    (12, 'borrow', ('desc', 'duration'), 'a lease'),
    (13, 'transfer', ('desc', 'target'), 'the descriptor in the target'),
    (14, 'release', ('desc',), '0'),
    (15, 'map', ('desc', 'vaddr', 'offset', 'length', 'prot'), '0'),
    (16, 'unmap', ('vaddr', 'length'), 'pages unmapped'),
    (17, 'describe', ('desc', 'out'), '0'),
    (20, 'channel_create', ('rights', 'out'), '0'),
    (21, 'channel_send', ('endpoint', 'buf', 'length', 'descs', 'count'), '0'),
    (22, 'channel_recv', ('endpoint', 'buf', 'length', 'descs', 'max', 'flags'),
     'length + count << 32'),
    (23, 'wait_any', ('descs', 'count', 'flags'), 'the index of a ready descriptor'),
    (24, 'channel_call', ('endpoint', 'buf', 'length', 'reply', 'reply_length'),
     'the reply\'s length'),
    (25, 'channel_call_regs', ('endpoint', 'length', 'w0', 'w1', 'w2', 'w3'),
     'the reply\'s length, its bytes in w0-w3'),
]

# channel_call_regs: its request and its reply in the words w0-w3, i.e. the
# registers rdx, r10, r8, r9 (the reply written back there).
REGISTER_MESSAGE_BYTES = 32

ERRORS = {
    'debug_write': ('E_INVALID', 'E_FAULT'),
    'exit': (),
    'yield': (),
    'sleep': ('E_INVALID',),
    'clock': (),
    'spawn': ('E_INVALID', 'E_LIMIT', 'E_FAULT', 'E_BADDESC', 'E_DEAD', 'E_KIND', 'E_RIGHTS',
              'E_NOEXEC', 'E_NOSLOTS', 'E_NOMEM'),
    'wait': ('E_BADDESC', 'E_KIND', 'E_DEAD', 'E_RIGHTS', 'E_INVALID'),
    'self': ('E_INVALID', 'E_NOSLOTS'),
    'counters': ('E_FAULT',),
    'allocate': ('E_INVALID', 'E_LIMIT', 'E_NOSLOTS', 'E_NOMEM'),
    'clone': ('E_BADDESC', 'E_DEAD', 'E_RIGHTS', 'E_NOSLOTS', 'E_LIMIT'),
    'borrow': ('E_BADDESC', 'E_DEAD', 'E_RIGHTS', 'E_INVALID', 'E_LIMIT', 'E_NOSLOTS'),
    'transfer': ('E_BADDESC', 'E_DEAD', 'E_RIGHTS', 'E_KIND', 'E_EXITED', 'E_NOSLOTS'),
    'release': ('E_BADDESC',),
    'map': ('E_BADDESC', 'E_DEAD', 'E_KIND', 'E_RIGHTS', 'E_INVALID', 'E_ALIGN', 'E_RANGE',
            'E_OVERLAP', 'E_NOMEM'),
    'unmap': ('E_ALIGN', 'E_INVALID', 'E_RANGE', 'E_NOMEM'),
    'describe': ('E_FAULT', 'E_BADDESC'),
    'channel_create': ('E_INVALID', 'E_FAULT', 'E_NOSLOTS', 'E_NOMEM'),
    'channel_send': ('E_INVALID', 'E_LIMIT', 'E_FAULT', 'E_BADDESC', 'E_DEAD', 'E_KIND',
                     'E_RIGHTS', 'E_CLOSED', 'E_WOULDBLOCK', 'E_NOMEM'),
    'channel_recv': ('E_INVALID', 'E_FAULT', 'E_BADDESC', 'E_DEAD', 'E_KIND', 'E_RIGHTS',
                     'E_CLOSED', 'E_WOULDBLOCK', 'E_BUFFER', 'E_NOSLOTS'),
    'wait_any': ('E_INVALID', 'E_FAULT', 'E_BADDESC', 'E_DEAD', 'E_KIND', 'E_RIGHTS',
                 'E_WOULDBLOCK'),
    'channel_call': ('E_INVALID', 'E_LIMIT', 'E_FAULT', 'E_BADDESC', 'E_DEAD', 'E_KIND',
                     'E_RIGHTS', 'E_CLOSED', 'E_WOULDBLOCK', 'E_NOMEM', 'E_BUFFER'),
    'channel_call_regs': ('E_INVALID', 'E_BADDESC', 'E_DEAD', 'E_KIND', 'E_RIGHTS',
                          'E_CLOSED', 'E_WOULDBLOCK', 'E_LIMIT', 'E_NOMEM', 'E_BUFFER'),
}

for _number, _name, _args, _result in SYSCALLS:
    assert len(_args) <= MAX_ARGS
    assert _name in ERRORS
    globals()['SYS_' + _name.upper()] = _number
assert len(ERRORS) == len(SYSCALLS)
