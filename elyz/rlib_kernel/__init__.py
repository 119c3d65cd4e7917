"""The only code that touches hardware or the translator.

Each primitive has an untranslated emulation (simulated physical memory,
fake ports) so the kernel logic above it runs under pytest on CPython.
"""
