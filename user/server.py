"""server: a small server answering two clients over channels (make run).

    server              makes a channel per client, starts `server client N`
                        with the client's end, and answers until both
                        clients have gone: "ping" gets "pong", "upper"
                        with a page descriptor in the message gets the
                        page's text in capitals (the server maps the page
                        it received); returns 0 when every request was
                        answered and nothing leaked
    server client N     (a child) asks its questions on its first
                        descriptor, checks the answers, exits 0
"""

from elyz.abi.errors import E_CLOSED
from elyz.abi.rights import (CHANNEL_RIGHTS, MEMORY_RIGHTS, PROT_READ, PROT_WRITE,
                             RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER)
from user.lib import api, ipc, process

PAGE = 4096
CLIENTS = 2
PAGE_VA = 0x90000000


def serve(ends):
    """Answers on the server ends until every client is gone; returns the
    number of requests answered, or -1 after a protocol error."""
    answered = 0
    open_ends = list(ends)
    message = ipc.Message()
    while open_ends:
        ready = ipc.wait_any(open_ends, 0)
        if ready < 0:
            api.write("server: wait_any failed: %d\n" % ready)
            return -1
        end = open_ends[ready]
        status = ipc.receive(end, message, ipc.RECV_NONBLOCK)
        if status == E_CLOSED:
            api.write("server: a client has gone\n")
            api.sys_release(end)
            del open_ends[ready]
            continue
        if status < 0:
            api.write("server: receive failed: %d\n" % status)
            return -1
        answered += 1
        if message.data.startswith("ping") and not message.descs:
            api.write("server: got '%s', answering pong\n" % message.data)
            ipc.send(end, "pong" + message.data[4:], [])
        elif message.data.startswith("upper") and len(message.descs) == 1:
            page = message.descs[0]
            length = int(message.data[6:])
            if api.sys_map(page, PAGE_VA, 0, PAGE, PROT_READ) != 0:
                return -1
            text = process.read_string(PAGE_VA, length)
            api.sys_unmap(PAGE_VA, PAGE)
            api.sys_release(page)
            api.write("server: got a page in a message; it reads '%s'\n" % text)
            ipc.send(end, text.upper(), [])
        else:
            api.write("server: a request it does not know: '%s'\n" % message.data)
            return -1
    return answered


def client(argv):
    number = argv[2]
    end = process.first_descriptor(0)
    message = ipc.Message()
    if ipc.send(end, "ping from client " + number, []) != 0:
        return 3
    if ipc.receive(end, message, 0) != 0 or message.data != "pong from client " + number:
        return 4
    api.write("client %s: the server answered '%s'\n" % (number, message.data))
    page = api.sys_allocate(PAGE, MEMORY_RIGHTS)
    if page < 0 or api.sys_map(page, PAGE_VA, 0, PAGE, PROT_READ | PROT_WRITE) != 0:
        return 5
    text = "a page from client " + number
    process.write_string(PAGE_VA, text)
    reader = api.sys_clone(page, RIGHT_READ | RIGHT_MAP | RIGHT_TRANSFER)
    if ipc.send(end, "upper %d" % len(text), [reader]) != 0:
        return 6
    if ipc.receive(end, message, 0) != 0 or message.data != text.upper():
        return 7
    api.write("client %s: the server sent back '%s'\n" % (number, message.data))
    return 0


def main(argv):
    if len(argv) > 2 and argv[1] == 'client':
        return client(argv)
    before = process.Counters()
    process.counters(before)
    ends = []
    children = []
    i = 0
    while i < CLIENTS:
        pair = []
        if ipc.create(CHANNEL_RIGHTS, pair) != 0:
            return 1
        ends.append(pair[0])
        child = process.spawn(process.IMAGE, ['server', 'client', str(i + 1)], [pair[1]])
        if child < 0:
            return 1
        children.append(child)
        i += 1
    api.write("server: two clients started, each with one end of a channel\n")
    answered = serve(ends)
    for end in ends:                    # after an error: the clients see E_CLOSED
        api.sys_release(end)
    failures = 0
    for child in children:
        if process.wait(child) != 0:
            failures += 1
        api.sys_release(child)
    after = process.Counters()
    process.counters(after)
    leaks = process.leaked(before, after)
    shown = leaks
    if not leaks:
        shown = " 0"
    api.write("server: %d requests answered, %d clients failed, leaks%s\n" % (
        answered, failures, shown))
    if answered != 2 * CLIENTS or failures or leaks:
        return 1
    return 0
