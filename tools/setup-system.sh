#!/bin/sh
# Checks for the system tools a goal needs, and installs the missing ones
# from the distro (Debian/Ubuntu apt-get) when run as root.
# Usage: tools/setup-system.sh GROUP...   groups: build qemu iso hdd uefi debug fonts linux ports
# (build, qemu, iso and uefi are for KARCH, x86_64 by default; uefi: the
# firmware the images boot under: OVMF, AAVMF for aarch64, U-Boot's EFI for
# riscv64; ports: the compilers, QEMUs and that firmware of every port,
# what `make test` boots)
# (fonts: the console font the checked-in font data is regenerated from, for
# tests/console/test_psf2py.py; linux: what `make bench-linux` needs to fetch
# a Debian kernel package and build a static C program with glibc)
# Exits non-zero with a message naming the packages when it cannot install.
set -e

need_cmds=""
need_pkgs=""
add() { # add COMMAND-OR-FILE PACKAGE
    case "$1" in
        /*) [ -e "$1" ] && return 0 ;;
        *) command -v "$1" >/dev/null 2>&1 && return 0 ;;
    esac
    need_cmds="$need_cmds $1"
    case " $need_pkgs " in *" $2 "*) ;; *) need_pkgs="$need_pkgs $2" ;; esac
}

KARCH=${KARCH:-x86_64}
ZIG_DIR=build/tools/zig
need_zig=""
need_qemu_backports=""
cross() { # cross KARCH: the compiler and QEMU of a port
    case "$1" in
        aarch64) add aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
                 add aarch64-linux-gnu-ld binutils-aarch64-linux-gnu ;;
        riscv64) add riscv64-linux-gnu-gcc gcc-riscv64-linux-gnu
                 add riscv64-linux-gnu-ld binutils-riscv64-linux-gnu ;;
        loongarch64) need_zig=1; add llvm-strip llvm ;;
    esac
}
firmware() { # firmware KARCH: what its UEFI images boot under
    case "$1" in
        x86_64) add /usr/share/OVMF/OVMF_CODE_4M.fd ovmf ;;
        aarch64) add /usr/share/AAVMF/AAVMF_CODE.fd qemu-efi-aarch64 ;;
        riscv64) add /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin u-boot-qemu ;;
    esac
}
emulator() { # emulator KARCH
    case "$1" in
        x86_64) add qemu-system-x86_64 qemu-system-x86 ;;
        aarch64) add qemu-system-aarch64 qemu-system-arm ;;
        riscv64) add qemu-system-riscv64 qemu-system-misc ;;
        loongarch64) need_qemu_backports=1 ;;
    esac
}

for group in "$@"; do
    case "$group" in
        build) add gcc gcc; add ld binutils; add make make; cross "$KARCH" ;;
        qemu)  emulator "$KARCH" ;;
        ports) for a in aarch64 riscv64 loongarch64; do cross $a; emulator $a; firmware $a; done
               add dtc device-tree-compiler ;;
        iso)   add xorriso xorriso; add mformat mtools; add mcopy mtools
               if [ "$KARCH" = x86_64 ]; then     # the ports' images are Limine-only
                   add grub-mkrescue grub-common
                   add /usr/lib/grub/i386-pc/modinfo.sh grub-pc-bin
                   add /usr/lib/grub/x86_64-efi/modinfo.sh grub-efi-amd64-bin
               fi ;;
        hdd)   add sfdisk fdisk; add sgdisk gdisk; add mformat mtools; add mcopy mtools ;;
        uefi)  firmware "$KARCH" ;;
        debug) add gdb gdb ;;
        linux) add gcc gcc; add /usr/lib/x86_64-linux-gnu/libc.a libc6-dev
               add dpkg-deb dpkg; add apt-get apt ;;
        fonts) add /usr/share/consolefonts/Lat15-VGA16.psf.gz console-setup-linux
               add /usr/share/doc/keyboard-configuration/copyright.fonts.gz keyboard-configuration ;;
        *) echo "setup-system: unknown group $group" >&2; exit 2 ;;
    esac
done

# loongarch64: Debian 12 has no cross gcc; PyPI's ziglang (zig cc) compiles
# and links it (tools/zig-setup.sh: pinned, in build/tools/zig).
if [ -n "$need_zig" ] && [ ! -x "$ZIG_DIR/bin/zig-cc" ]; then
    sh tools/zig-setup.sh "$ZIG_DIR" || exit 1
fi

# loongarch64's QEMU: Debian 12's 7.2 emulates LoongArch with 16 KiB pages;
# tools/qemu-backports.sh unpacks bookworm-backports' QEMU into build/tools/qemu.
if [ -n "$need_qemu_backports" ] && [ ! -x build/tools/qemu/usr/bin/qemu-system-loongarch64 ]; then
    sh tools/qemu-backports.sh build/tools/qemu || exit 1
fi

[ -z "$need_pkgs" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing$need_pkgs (missing:$need_cmds)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends $need_pkgs >/tmp/elyz-apt.log 2>&1; then
        apt-get update -q >/tmp/elyz-apt-update.log 2>&1 || true
        apt-get install -y -q --no-install-recommends $need_pkgs >/tmp/elyz-apt.log 2>&1 || {
            echo "error: apt-get could not install$need_pkgs (see /tmp/elyz-apt.log)" >&2
            exit 1
        }
    fi
    exit 0
fi
echo "error: missing$need_cmds" >&2
echo "       install the packages:$need_pkgs" >&2
echo "       (Debian/Ubuntu: sudo apt-get install$need_pkgs)" >&2
exit 1
