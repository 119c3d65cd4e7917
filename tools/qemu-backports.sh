#!/bin/sh
# Fetches the loongarch64 emulator: Debian 12's QEMU (7.2) emulates LoongArch
# with 16 KiB target pages, so a 4 KiB page mapped onto a frame that is not
# congruent to it modulo 16 KiB reaches the wrong frame (docs/ports.md);
# QEMU 8.1 and later use 4 KiB pages.  This takes Debian's
# bookworm-backports qemu-system-misc package file with `apt-get download`
# (a temporary sources list; nothing is installed and the system's QEMU
# stays as it is), and unpacks it into DIR (default build/tools/qemu):
#   DIR/usr/bin/qemu-system-loongarch64
# tools/qemurun.py and the GNUmakefile use that binary when it exists.
set -e
DIR=${1:-build/tools/qemu}
SUITE=bookworm-backports
MIRROR=${ELYZ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ -x "$DIR/usr/bin/qemu-system-loongarch64" ] && exit 0
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || {
    echo "error: fetching QEMU for loongarch64 needs apt-get and dpkg-deb (Debian)" >&2; exit 1; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb $MIRROR $SUITE main" > "$work/sources.list"
opts="-o Dir::Etc::sourcelist=$work/sources.list -o Dir::Etc::sourceparts=- \
      -o Dir::State::Lists=$work/lists -o Dir::Cache::Archives=$work/archives \
      -o APT::Sandbox::User=root -o Debug::NoLocking=1"
echo "setup: fetching qemu-system-misc from $SUITE (QEMU for loongarch64) into $DIR"
# shellcheck disable=SC2086
apt-get $opts update -q >"$work/update.log" 2>&1 || {
    echo "error: apt-get update of $SUITE failed:" >&2; tail -5 "$work/update.log" >&2; exit 1; }
# shellcheck disable=SC2086
(cd "$work" && apt-get $opts download -q qemu-system-misc/$SUITE >"$work/download.log" 2>&1) || {
    echo "error: apt-get download qemu-system-misc/$SUITE failed:" >&2
    tail -5 "$work/download.log" >&2; exit 1; }
dpkg-deb -x "$work"/qemu-system-misc_*.deb "$DIR"
"$DIR/usr/bin/qemu-system-loongarch64" --version | head -1
