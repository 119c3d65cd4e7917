"""The kernel's ABI, defined once: error codes (errors.py), rights and
object kinds (rights.py), limits (limits.py).  docs/abi.md is checked
against these tables by tests/abi, and the syscall layer and the user
runtime will be made from them."""
