"""The channel system calls through the dispatcher (elyz/kernel/syscall.py),
untranslated: what the fuzzer (user/fuzz.py) found at that layer."""

from elyz.abi import limits, syscalls
from elyz.abi.errors import E_WOULDBLOCK
from elyz.abi.rights import CHANNEL_RIGHTS, PROT_READ
from elyz.kernel import syscall
from elyz.obj import api
from tests.kernel.conftest import USER_BUF, do_syscall, give_user_memory
from tests.kernel.test_syscall import proc  # noqa: F401

PAGE = limits.PAGE_SIZE
S = syscalls


def channel(p):
    pair = api.Pair()
    assert api.channel_create(p, CHANNEL_RIGHTS, pair) == 0
    return pair.first, pair.second


def test_receive_with_room_for_no_descriptor_needs_no_writable_descs_word(
        kworld, proc):  # noqa: F811
    """docs/abi.md, channel_recv: only min(max, MAX_MESSAGE_DESCRIPTORS)
    words at descs must be writable: with max 0, none; descs in the middle
    of a read-only page is no fault (it was E_FAULT: usercopy.pages_ok of
    0 bytes checked the page of an unaligned address)."""
    give_user_memory(proc, USER_BUF + 4 * PAGE, 1, prot=PROT_READ)
    a, b = channel(proc)
    assert do_syscall(S.SYS_CHANNEL_SEND, a, USER_BUF, 5, USER_BUF, 0) == 0
    read_only = USER_BUF + 4 * PAGE + 8
    assert do_syscall(S.SYS_CHANNEL_RECV, b, USER_BUF, 64, read_only, 0,
                      syscall.RECV_NONBLOCK) == 5
    # and a buffer of 0 bytes there too: nothing queued now
    assert do_syscall(S.SYS_CHANNEL_RECV, b, read_only, 0, read_only, 0,
                      syscall.RECV_NONBLOCK) == E_WOULDBLOCK     # not E_FAULT
