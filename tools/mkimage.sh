#!/bin/sh
# Builds a bootable image of the kernel, or says what it would be made with.
# Usage: tools/mkimage.sh iso|hdd KERNEL_ELF OUTPUT [CMDLINE]
#        tools/mkimage.sh config [CMDLINE]
# Uses Limine when LIMINE_DIR (default ./limine) holds Limine's binary
# release or an installed `limine` tells its data dir; otherwise GRUB
# (multiboot2), saying so in one line. Fails with a message naming what is
# missing.
# ELYZ_INITRD (the environment), when it names a file: the boot archive of
# the user programs, carried as a boot module (/boot/elyz-initrd.cpio: a
# Limine module_path, a GRUB module2), which the kernel starts init from.
# `config` prints the loader it would use, the path and checksum (cksum:
# CRC and size) of every Limine file it would put in the image, and the
# command line; make keeps that in build/<karch>/image.config so that the
# images are rebuilt exactly when one of them changes.
# KARCH (the environment, default x86_64): for aarch64 and riscv64 the
# images are UEFI-only and need Limine (BOOTAA64.EFI / BOOTRISCV64.EFI;
# GRUB's Multiboot2 cannot load this kernel there); without it the build
# stops with a message.
set -e
kind=$1
here=$(cd "$(dirname "$0")/.." && pwd)
LIMINE_DIR=${LIMINE_DIR:-$here/limine}
karch=${KARCH:-x86_64}
case $karch in
    x86_64) efi_files="BOOTX64.EFI BOOTIA32.EFI" ;;
    aarch64) efi_files="BOOTAA64.EFI" ;;
    riscv64) efi_files="BOOTRISCV64.EFI" ;;
    *) echo "error: no bootable images for KARCH=$karch (boot it directly: make run KARCH=$karch)" >&2
       exit 1 ;;
esac

# Sets limine_data (the directory with Limine's boot files, empty when there
# is no Limine: GRUB then) and limine_tool (Limine's host tool, empty when
# there is none). Cannot fail.
find_limine() {
    limine_data=""
    if [ -f "$LIMINE_DIR/limine-bios.sys" ]; then
        limine_data=$LIMINE_DIR
    elif command -v limine >/dev/null 2>&1 && [ -d "$(limine --print-datadir 2>/dev/null)" ]; then
        limine_data=$(limine --print-datadir)
    fi
    limine_tool=""
    if [ -n "$limine_data" ]; then
        if [ -x "$LIMINE_DIR/limine" ]; then limine_tool=$LIMINE_DIR/limine
        elif command -v limine >/dev/null 2>&1; then limine_tool=$(command -v limine); fi
    fi
}

# Prints what an image would be made with (loader, Limine files with their
# checksums, command line $1), one item a line. Fails only if cksum does.
print_config() {
    if [ -z "$limine_data" ]; then
        echo "loader: grub"
    else
        echo "loader: limine"
        echo "karch: $karch"
        for f in limine-bios.sys limine-bios-cd.bin limine-uefi-cd.bin $efi_files; do
            [ ! -f "$limine_data/$f" ] || cksum "$limine_data/$f"
        done
        if [ -n "$limine_tool" ]; then cksum "$limine_tool"; else echo "no limine tool"; fi
    fi
    printf 'cmdline: %s\n' "$1"
    if [ -n "${ELYZ_INITRD:-}" ] && [ -f "$ELYZ_INITRD" ]; then
        printf 'initrd: %s\n' "$(cksum < "$ELYZ_INITRD")"
    fi
}

find_limine
if [ "$kind" = config ]; then
    print_config "${2:-}"
    exit 0
fi

kernel=$2; out=$3; cmdline=${4:-}
[ -n "$kind" ] && [ -n "$kernel" ] && [ -n "$out" ] || {
    echo "usage: $0 iso|hdd KERNEL_ELF OUTPUT [CMDLINE]  or  $0 config [CMDLINE]" >&2; exit 2; }
[ -f "$kernel" ] || { echo "error: no kernel at $kernel (run: make kernel)" >&2; exit 1; }
if [ "$karch" != x86_64 ] && [ -z "$limine_data" ]; then
    echo "error: images for KARCH=$karch need Limine (LIMINE_DIR=$LIMINE_DIR has no Limine" \
         "binary release): GRUB's Multiboot2 cannot load this kernel there." \
         "Set LIMINE_DIR, or boot the kernel directly: make run KARCH=$karch" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/boot"
# Bootloaders need only the loadable segments: without the debug sections
# (gdb reads them from the build tree) the file is ~5x smaller, which matters
# to Limine under UEFI: it reads the whole file into memory below 4 GiB
# before placing the image, and with QEMU's 128 MiB that was one allocation
# too many (Limine 8.2: "High memory allocator: Out of memory").
objcopy=objcopy
[ "$karch" = x86_64 ] || objcopy=$karch-linux-gnu-objcopy
if command -v $objcopy >/dev/null 2>&1; then
    $objcopy --strip-debug "$kernel" "$root/boot/elyz.elf"
else
    cp "$kernel" "$root/boot/elyz.elf"
fi

# Limine's BIOS boot sectors into an image (quiet unless it fails).
bios_install() {
    "$limine_tool" bios-install "$1" >"$work/bios-install.log" 2>&1 || {
        cat "$work/bios-install.log" >&2
        echo "error: $limine_tool bios-install $1 failed" >&2; exit 1; }
}

esc_cmdline=$(printf '%s' "$cmdline" | sed 's/[&|\\]/\\&/g')
initrd=""
if [ -n "${ELYZ_INITRD:-}" ] && [ -f "$ELYZ_INITRD" ]; then
    initrd=$ELYZ_INITRD
    cp "$initrd" "$root/boot/elyz-initrd.cpio"
fi
# Writes config file $1 to $2 with the command line and the module line
# (the line holding @MODULE@ becomes $3, or goes when there is no initrd).
write_config() {
    if [ -n "$initrd" ]; then
        sed -e "s|@CMDLINE@|$esc_cmdline|" -e "s|@MODULE@|$3|" "$1" > "$2"
    else
        sed -e "s|@CMDLINE@|$esc_cmdline|" -e "/@MODULE@/d" "$1" > "$2"
    fi
}

# aarch64 and riscv64: UEFI only (AAVMF; U-Boot's EFI), so the ISO has no
# BIOS boot record and the hdd no BIOS stage; limine-uefi-cd.bin, the ESP
# of the ISO, holds every architecture's EFI/BOOT/BOOT*.EFI.
if [ -n "$limine_data" ] && [ "$karch" != x86_64 ]; then
    echo "image: Limine from $limine_data (UEFI, $karch)"
    mkdir -p "$root/boot/limine" "$root/EFI/BOOT"
    write_config "$here/limine.conf" "$root/boot/limine/limine.conf" \
        "module_path: boot():/boot/elyz-initrd.cpio"
    for f in $efi_files; do
        [ -f "$limine_data/$f" ] || { echo "error: no $f in $limine_data" >&2; exit 1; }
        cp "$limine_data/$f" "$root/EFI/BOOT/"
    done
    if [ "$kind" = iso ]; then
        cp "$limine_data/limine-uefi-cd.bin" "$root/boot/limine/"
        xorriso -as mkisofs -R -r -J -hfsplus -apm-block-size 2048 \
            --efi-boot boot/limine/limine-uefi-cd.bin \
            -efi-boot-part --efi-boot-image --protective-msdos-label \
            "$root" -o "$out" >"$work/xorriso.log" 2>&1 || {
                cat "$work/xorriso.log" >&2; echo "error: xorriso failed" >&2; exit 1; }
    else
        size_mb=64
        rm -f "$out"
        dd if=/dev/zero of="$out" bs=1M count=0 seek=$size_mb 2>/dev/null
        printf 'label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ELYZ-ESP"\n' \
            | sfdisk --no-reread --no-tell-kernel -q "$out" >/dev/null
        offset=$((2048 * 512))
        mformat -i "$out@@$offset" -F -v ELYZ ::
        mmd -i "$out@@$offset" ::/boot ::/boot/limine ::/EFI ::/EFI/BOOT
        mcopy -i "$out@@$offset" "$root/boot/elyz.elf" ::/boot/
        [ -z "$initrd" ] || mcopy -i "$out@@$offset" "$root/boot/elyz-initrd.cpio" ::/boot/
        mcopy -i "$out@@$offset" "$root/boot/limine/limine.conf" ::/boot/limine/
        for f in "$root"/EFI/BOOT/*; do mcopy -i "$out@@$offset" "$f" ::/EFI/BOOT/; done
    fi
elif [ -n "$limine_data" ]; then
    echo "image: Limine from $limine_data"
    mkdir -p "$root/boot/limine" "$root/EFI/BOOT"
    write_config "$here/limine.conf" "$root/boot/limine/limine.conf" \
        "module_path: boot():/boot/elyz-initrd.cpio"
    cp "$limine_data/limine-bios.sys" "$root/boot/limine/"
    for f in $efi_files; do
        [ -f "$limine_data/$f" ] && cp "$limine_data/$f" "$root/EFI/BOOT/"
    done
    if [ "$kind" = iso ]; then
        cp "$limine_data/limine-bios-cd.bin" "$limine_data/limine-uefi-cd.bin" "$root/boot/limine/"
        xorriso -as mkisofs -R -r -J -b boot/limine/limine-bios-cd.bin \
            -no-emul-boot -boot-load-size 4 -boot-info-table -hfsplus \
            -apm-block-size 2048 --efi-boot boot/limine/limine-uefi-cd.bin \
            -efi-boot-part --efi-boot-image --protective-msdos-label \
            "$root" -o "$out" >"$work/xorriso.log" 2>&1 || {
                cat "$work/xorriso.log" >&2; echo "error: xorriso failed" >&2; exit 1; }
        if [ -n "$limine_tool" ]; then
            bios_install "$out"
        else
            echo "image: no limine tool (make -C $LIMINE_DIR): the ISO boots from CD, not as a BIOS disk"
        fi
    else
        [ -n "$limine_tool" ] || {
            echo "error: the hdd image needs Limine's host tool for BIOS boot: run 'make -C $LIMINE_DIR'" >&2
            exit 1; }
        size_mb=64
        rm -f "$out"
        dd if=/dev/zero of="$out" bs=1M count=0 seek=$size_mb 2>/dev/null
        # GPT with one EFI system partition from 1 MiB to the end.
        printf 'label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ELYZ-ESP"\n' \
            | sfdisk --no-reread --no-tell-kernel -q "$out" >/dev/null
        bios_install "$out"
        offset=$((2048 * 512))
        mformat -i "$out@@$offset" -F -v ELYZ ::
        mmd -i "$out@@$offset" ::/boot ::/boot/limine ::/EFI ::/EFI/BOOT
        mcopy -i "$out@@$offset" "$root/boot/elyz.elf" ::/boot/
        [ -z "$initrd" ] || mcopy -i "$out@@$offset" "$root/boot/elyz-initrd.cpio" ::/boot/
        mcopy -i "$out@@$offset" "$root/boot/limine/limine.conf" "$root/boot/limine/limine-bios.sys" ::/boot/limine/
        for f in "$root"/EFI/BOOT/*; do mcopy -i "$out@@$offset" "$f" ::/EFI/BOOT/; done
    fi
else
    echo "image: Limine not found (LIMINE_DIR=$LIMINE_DIR): using GRUB (multiboot2)"
    mkdir -p "$root/boot/grub"
    write_config "$here/tools/grub.cfg" "$root/boot/grub/grub.cfg" \
        "module2 /boot/elyz-initrd.cpio"
    # grub-mkrescue makes a hybrid image: an ISO for CDs, and a disk with an
    # EFI system partition and an MBR boot record (BIOS and UEFI) for USB sticks.
    grub-mkrescue -o "$out" "$root" >"$work/grub.log" 2>&1 || {
        cat "$work/grub.log" >&2
        echo "error: grub-mkrescue failed (needs grub-pc-bin, grub-efi-amd64-bin, xorriso, mtools)" >&2
        exit 1; }
fi
