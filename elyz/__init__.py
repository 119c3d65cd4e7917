"""Elyz: a microkernel written in RPython.

Design principles, in order:
  1. One code, two worlds: every kernel module runs untranslated under pytest
     (hardware emulated in elyz.rlib_kernel) and translated on the metal.
  2. No GC after boot: kernel objects live in fixed pools or raw memory with
     explicit frees; a syscall path allocates no GC object.
  3. Bad input gets a clear error code, never a panic.
  4. Simple and clear algorithms over fast and clever ones; speed is measured.
"""
