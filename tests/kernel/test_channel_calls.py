"""The channel system calls through the dispatcher (elyz.kernel.syscall),
for processes the scheduler switches between: blocking receives, wait_any,
and channel_call's fast path that hands a small message straight to a
waiting receiver and runs it at once."""

import struct

import pytest

from elyz.abi import limits, syscalls as S
from elyz.abi.errors import E_BUFFER, E_CLOSED, E_FAULT, E_INVALID, E_LIMIT, E_RIGHTS
from elyz.abi.rights import (CHANNEL_RIGHTS, PROCESS_RIGHTS, PROT_READ, RIGHT_READ,
                             RIGHT_WRITE)
from elyz.kernel import sched, syscall
from elyz.obj import api, channel, process
from elyz.rlib_kernel import trapframe
from tests.kernel.conftest import (FRAME, blocks, do_syscall, give_user_memory, make_current,
                                   read_bytes, start_task, syscall_frame, write_bytes)

A_BUF = 0x10000000
B_BUF = 0x20000000
KERNEL_PTR = -0x800000000000
PAGE = limits.PAGE_SIZE


@pytest.fixture
def pair(kworld):
    """Two running processes, a with one endpoint and b with the other,
    each with a page of user memory (A_BUF, B_BUF)."""
    a = process.get(start_task())
    b = process.get(start_task())
    give_user_memory(a, A_BUF)
    give_user_memory(b, B_BUF)
    out = api.Pair()
    assert api.channel_create(a, CHANNEL_RIGHTS, out) == 0
    target = api.grant(a, b, PROCESS_RIGHTS, True)
    b_end = api.transfer(a, out.second, target)
    assert b_end > 0
    return a, out.first, b, b_end


def endpoint_index(proc, desc):
    return api.endpoint_of(proc, desc)


def b_waits_in_a_call(pair, reply_length=64):
    """b calls with nothing to answer it: it waits on its endpoint (ready
    for a's call to take the fast path when it fits reply_length), and a
    receives the request.  Returns b's endpoint index."""
    a, a_end, b, b_end = pair
    make_current(b.index)
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, b_end, B_BUF, 1, B_BUF + 256,
                  reply_length) == b.index
    make_current(a.index)
    assert do_syscall(S.SYS_CHANNEL_RECV, a_end, A_BUF + 1024, 64, A_BUF + 2048, 0, 1) == 1
    return endpoint_index(b, b_end)


def assert_b_still_waits(pair, b_endpoint):
    a, a_end, b, b_end = pair
    assert sched.current() == a.index
    assert sched.task(b.index).state == sched.TASK_WAITING_EVENTS
    assert sched.task(b.index).inbox_length == -1
    assert channel.get(b_endpoint).waiter == b.index
    assert channel.messages_in_use() == 0


def test_a_blocking_receive_waits_until_a_send(pair):
    a, a_end, b, b_end = pair
    make_current(b.index)
    assert blocks(do_syscall, S.SYS_CHANNEL_RECV, b_end, B_BUF, 64, B_BUF + 512, 4, 0) \
        == b.index
    assert sched.task(b.index).state == sched.TASK_WAITING_EVENTS
    make_current(a.index)
    write_bytes(A_BUF, b'ping')
    assert do_syscall(S.SYS_CHANNEL_SEND, a_end, A_BUF, 4, A_BUF + 512, 0) == 0
    assert sched.task(b.index).state == sched.TASK_RUNNABLE     # woken by the event


def test_wait_any_returns_the_first_ready_and_blocks_otherwise(pair):
    a, a_end, b, b_end = pair
    make_current(b.index)
    write_bytes(B_BUF, b''.join(bytes(bytearray([(b_end >> (8 * i)) & 0xff
                                                 for i in range(8)]))
                                for _ in range(1)))
    assert do_syscall(S.SYS_WAIT_ANY, B_BUF, 1, 1) == -25         # E_WOULDBLOCK
    assert blocks(do_syscall, S.SYS_WAIT_ANY, B_BUF, 1, 0) == b.index
    make_current(a.index)
    assert do_syscall(S.SYS_CHANNEL_SEND, a_end, A_BUF, 1, A_BUF, 0) == 0
    assert sched.task(b.index).state == sched.TASK_RUNNABLE
    make_current(b.index)
    assert do_syscall(S.SYS_WAIT_ANY, B_BUF, 1, 0) == 0


def test_call_checks_before_sending(pair):
    a, a_end, b, b_end = pair
    make_current(a.index)
    read_only = api.clone(a, a_end, RIGHT_READ)
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, -1, A_BUF, 8) == E_INVALID
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF,
                      limits.MAX_MESSAGE_BYTES + 1, A_BUF, 8) == E_LIMIT
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, KERNEL_PTR, 8, A_BUF, 8) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, 8, KERNEL_PTR, 8) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, read_only, A_BUF, 8, A_BUF, 8) == E_RIGHTS
    assert channel.messages_in_use() == 0


def test_call_hands_a_small_message_to_a_waiting_caller_and_runs_it(pair):
    a, a_end, b, b_end = pair
    # b calls first: nobody waits on a's side, so its request is queued and
    # b waits on its own endpoint for the reply.
    make_current(b.index)
    write_bytes(B_BUF, b'request')
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, b_end, B_BUF, 7, B_BUF + 256, 64) \
        == b.index
    b_endpoint = endpoint_index(b, b_end)
    assert channel.get(b_endpoint).waiter == b.index
    make_current(a.index)
    assert do_syscall(S.SYS_CHANNEL_RECV, a_end, A_BUF + 1024, 64, A_BUF + 2048, 0, 1) == 7
    assert read_bytes(A_BUF + 1024, 7) == b'request'
    # a answers with a call: b waits with nothing queued, so the reply goes
    # straight to b's inbox and b runs now; a waits for the next request.
    write_bytes(A_BUF, b'reply!')
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, a_end, A_BUF, 6, A_BUF + 512, 64) \
        == a.index
    assert sched.current() == b.index
    assert channel.messages_in_use() == 0                    # never queued
    assert channel.get(b_endpoint).waiter == -1
    assert channel.get(endpoint_index(a, a_end)).waiter == a.index
    # b's call resumes in its second half: the reply from its inbox.
    assert syscall._call_receive(b, b_end, b_endpoint, B_BUF + 256, 64, 64, 0) == 6
    assert read_bytes(B_BUF + 256, 6) == b'reply!'
    assert sched.take_inbox() == -1


def test_call_queues_what_does_not_fit_the_waiting_receivers_buffer(pair):
    a, a_end, b, b_end = pair
    b_waits_in_a_call(pair, 4)
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, a_end, A_BUF, 10, A_BUF + 512, 64) \
        == a.index
    assert channel.messages_in_use() == 1                    # queued: 10 > 4
    make_current(b.index)
    b_endpoint = endpoint_index(b, b_end)
    assert syscall._call_receive(b, b_end, b_endpoint, B_BUF + 256, 4, 4, 0) == E_BUFFER


def test_call_on_a_closed_channel(pair):
    a, a_end, b, b_end = pair
    make_current(a.index)
    assert api.release(a, a_end) == 0
    make_current(b.index)
    assert do_syscall(S.SYS_CHANNEL_CALL, b_end, B_BUF, 1, B_BUF, 8) == E_CLOSED


def test_a_killed_waiter_leaves_no_waiter_behind(pair):
    a, a_end, b, b_end = pair
    make_current(b.index)
    blocks(do_syscall, S.SYS_CHANNEL_CALL, b_end, B_BUF, 1, B_BUF + 256, 64)
    b_endpoint = endpoint_index(b, b_end)
    assert channel.get(b_endpoint).waiter == b.index
    sched.kill(b.index, 9)
    assert sched._sched.event_waiters == 0
    assert channel.get(b_endpoint).waiter == -1 or not channel.get(b_endpoint).in_use


# ------------------------------------------------------------ the fast path's checks
# The fast path checks the reply buffer and copies the request without a
# page walk (usercopy.writable, copy_in): the MMU's own checks, which the
# untranslated copy models from the page tables.

A_READ_ONLY = 0x11000000
A_TWO_PAGES = 0x12000000


def test_fast_path_refuses_a_read_only_reply_buffer_sending_nothing(pair):
    a, a_end, b, b_end = pair
    give_user_memory(a, A_READ_ONLY, prot=PROT_READ)
    b_endpoint = b_waits_in_a_call(pair)
    write_bytes(A_READ_ONLY, b'keep')
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, 1, A_READ_ONLY, 64) == E_FAULT
    assert read_bytes(A_READ_ONLY, 4) == b'keep'
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, 1, KERNEL_PTR, 64) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, 1, 0x30000000, 64) == E_FAULT
    assert_b_still_waits(pair, b_endpoint)


def test_fast_path_refuses_a_reply_buffer_running_onto_a_read_only_page(pair):
    a, a_end, b, b_end = pair
    give_user_memory(a, A_TWO_PAGES)
    give_user_memory(a, A_TWO_PAGES + PAGE, prot=PROT_READ)
    b_endpoint = b_waits_in_a_call(pair)
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, 1, A_TWO_PAGES + PAGE - 8, 16) \
        == E_FAULT
    assert_b_still_waits(pair, b_endpoint)
    # Only min(reply_length, MAX_MESSAGE_BYTES) bytes must be writable.
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, a_end, A_BUF, 1, A_TWO_PAGES + PAGE - 8, 8) \
        == a.index
    assert sched.current() == b.index


def test_fast_path_refuses_a_bad_request_buffer_sending_nothing(pair):
    a, a_end, b, b_end = pair
    give_user_memory(a, A_TWO_PAGES, 2, mirrored=[0])     # the second page faults
    b_endpoint = b_waits_in_a_call(pair)
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, KERNEL_PTR, 8, A_BUF, 64) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, 0x30000000, 8, A_BUF, 64) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_TWO_PAGES + PAGE - 4, 8, A_BUF, 64) \
        == E_FAULT
    assert_b_still_waits(pair, b_endpoint)


def test_fast_path_keeps_the_documented_order_of_errors(pair):
    a, a_end, b, b_end = pair
    b_waits_in_a_call(pair)
    read_only = api.clone(a, a_end, RIGHT_READ)
    # A bad buffer comes before a bad descriptor, as on the general path.
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end + 1, KERNEL_PTR, 8, A_BUF, 64) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, read_only, A_BUF, 8, KERNEL_PTR, 64) == E_FAULT
    assert do_syscall(S.SYS_CHANNEL_CALL, read_only, A_BUF, 8, A_BUF, 64) == E_RIGHTS
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, -1, A_BUF, 64) == E_INVALID
    assert do_syscall(S.SYS_CHANNEL_CALL, a_end, A_BUF, 1, A_BUF, -1) == E_INVALID


def test_fast_path_hands_over_a_message_across_a_page_boundary(pair):
    a, a_end, b, b_end = pair
    give_user_memory(a, A_TWO_PAGES, 2)
    b_waits_in_a_call(pair)
    write_bytes(A_TWO_PAGES + PAGE - 3, b'across')
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, a_end, A_TWO_PAGES + PAGE - 3, 6,
                  A_TWO_PAGES + PAGE - 32, 64) == a.index
    assert sched.current() == b.index
    b_endpoint = endpoint_index(b, b_end)
    assert syscall._call_receive(b, b_end, b_endpoint, B_BUF + 256, 64, 64, 0) == 6
    assert read_bytes(B_BUF + 256, 6) == b'across'


# ------------------------------------------------------------ channel_call_regs
# The request in w0-w3 (rdx r10 r8 r9), the reply written back there.

REPLY_REGISTERS = trapframe.SYSCALL_ARGUMENTS[2:]


def words_of(data):
    data = data.ljust(32, b'\0')
    return [struct.unpack('<q', data[8 * i:8 * i + 8])[0] for i in range(4)]


def reply_registers(frame):
    return b''.join(struct.pack('<q', trapframe.read(frame, r)) for r in REPLY_REGISTERS)


def regs_call(ep, data):
    return (S.SYS_CHANNEL_CALL_REGS, ep, len(data)) + tuple(words_of(data))


def test_call_regs_refuses_a_length_outside_0_to_32(pair):
    a, a_end, b, b_end = pair
    make_current(a.index)
    for length in (-1, 33, 1 << 40):
        assert do_syscall(S.SYS_CHANNEL_CALL_REGS, a_end, length, 1, 2, 3, 4) == E_INVALID
        assert trapframe.read(FRAME, trapframe.RDX) == 1        # registers untouched
    assert do_syscall(S.SYS_CHANNEL_CALL_REGS, a_end + 1, 1, 0, 0, 0, 0) < 0
    assert channel.messages_in_use() == 0


def test_call_regs_hands_its_words_to_a_caller_waiting_with_a_buffer(pair):
    a, a_end, b, b_end = pair
    b_waits_in_a_call(pair)
    assert blocks(do_syscall, *regs_call(a_end, b'hello, registers')) == a.index
    assert sched.current() == b.index
    assert channel.messages_in_use() == 0
    b_endpoint = endpoint_index(b, b_end)
    assert syscall._call_receive(b, b_end, b_endpoint, B_BUF + 256, 64, 64, 0) == 16
    assert read_bytes(B_BUF + 256, 16) == b'hello, registers'


def test_call_regs_gets_its_reply_in_its_registers_with_the_rest_zero(pair):
    a, a_end, b, b_end = pair
    make_current(b.index)
    # b waits in channel_call_regs (its request queued: nobody waits on a's side)
    assert blocks(do_syscall, *regs_call(b_end, b'q')) == b.index
    b_endpoint = endpoint_index(b, b_end)
    make_current(a.index)
    assert do_syscall(S.SYS_CHANNEL_RECV, a_end, A_BUF + 1024, 64, A_BUF + 2048, 0, 1) == 1
    assert read_bytes(A_BUF + 1024, 1) == b'q'
    # Old bytes in b's inbox past the reply must not reach b's registers.
    write_bytes(sched.inbox(b.index), b'X' * 64)
    write_bytes(A_BUF, b'answer in 11')
    assert blocks(do_syscall, S.SYS_CHANNEL_CALL, a_end, A_BUF, 11, A_BUF + 512, 64) \
        == a.index
    assert sched.current() == b.index
    syscall_frame(*regs_call(b_end, b"q"))          # a frame to write the reply into
    assert syscall._call_receive(b, b_end, b_endpoint, 0, 32, 32, FRAME) == 11
    assert reply_registers(FRAME) == b'answer in 1' + b'\0' * 21


def test_call_regs_takes_a_queued_reply_and_refuses_one_over_32_bytes(pair):
    a, a_end, b, b_end = pair
    make_current(b.index)
    write_bytes(B_BUF, b'queued reply')
    assert do_syscall(S.SYS_CHANNEL_SEND, b_end, B_BUF, 12, B_BUF + 512, 0) == 0
    make_current(a.index)
    assert do_syscall(*regs_call(a_end, b'ping')) == 12
    assert reply_registers(FRAME) == b'queued reply' + b'\0' * 20
    make_current(b.index)
    assert do_syscall(S.SYS_CHANNEL_RECV, b_end, B_BUF, 64, B_BUF + 512, 0, 1) == 4
    assert read_bytes(B_BUF, 4) == b'ping'
    assert do_syscall(S.SYS_CHANNEL_SEND, b_end, B_BUF, 33, B_BUF + 512, 0) == 0
    make_current(a.index)
    assert do_syscall(*regs_call(a_end, b'')) == E_BUFFER
    assert channel.messages_in_use() == 2       # the request went; the long one stays queued


def test_call_regs_errors_of_the_descriptor(pair):
    a, a_end, b, b_end = pair
    make_current(a.index)
    read_only = api.clone(a, a_end, RIGHT_READ)
    assert do_syscall(*regs_call(read_only, b'x')) == E_RIGHTS
    assert api.release(b, b_end) == 0
    assert do_syscall(*regs_call(a_end, b'x')) == E_CLOSED
