"""The kernel's fixed limits (docs/abi.md, "Limits").

    PAGE_SIZE              4096: sizes, offsets and addresses of mappings are
                           multiples of it
    DESCRIPTOR_SLOTS       descriptors one process can hold at once
    MAX_PROCESSES          process records (running or zombie) at once
    MAX_MEMORY_OBJECTS     MemoryObject records (alive, or dead with weak
                           descriptors left) at once
    MAX_MAPPINGS           mappings in all address spaces together
    MAX_LEASES             leases with an expiry, in all processes together
                           (in flight in messages included)
    MAX_ENDPOINTS          channel endpoint records (two per channel) at once
    MAX_MESSAGES           messages queued in all endpoints together
    MAX_MESSAGE_BYTES      bytes of one message
    MAX_MESSAGE_DESCRIPTORS   descriptors one message carries
    MAX_QUEUED_MESSAGES    messages queued in one endpoint (a send to a full
                           queue fails with E_WOULDBLOCK)
    MAX_INFLIGHT_BYTES     kernel memory one process's queued messages may
                           take: their bytes plus SLOT_SIZE (48) per carried
                           descriptor plus MESSAGE_OVERHEAD (64) each
    MAX_OBJECT_SIZE        bytes of the largest MemoryObject (256 MiB)
    MAX_LEASE_TICKS        the longest lease duration, in timer ticks
    MAX_REFERENCES         the largest strong or weak count of one object
    USER_START, USER_END   the user half a process may map: [USER_START,
                           USER_END); page 0 and the top page below the
                           canonical hole stay unmapped
    DESCRIPTOR_GENERATION_LIMIT   a slot is retired when its generation
                           reaches this, so a stale descriptor value can
                           never name a later occupant of the slot

Descriptor values: value = generation * DESCRIPTOR_SLOTS + slot, with
generation >= 1; 0 and every negative number are never descriptors.
"""

PAGE_SIZE = 4096
DESCRIPTOR_SLOTS = 256
MAX_PROCESSES = 64
MAX_MEMORY_OBJECTS = 1024
MAX_MAPPINGS = 4096
MAX_LEASES = 4096
MAX_ENDPOINTS = 1024
MAX_MESSAGES = 4096
MAX_MESSAGE_BYTES = 4096
MAX_MESSAGE_DESCRIPTORS = 16
MAX_QUEUED_MESSAGES = 64
MAX_INFLIGHT_BYTES = 1024 * 1024
MAX_OBJECT_SIZE = 256 * 1024 * 1024
MAX_LEASE_TICKS = 1 << 40
MAX_REFERENCES = 1 << 20
USER_START = PAGE_SIZE
USER_END = 0x00007FFFFFFFF000
DESCRIPTOR_GENERATION_LIMIT = 1 << 31
