#!/bin/sh
# Installs the loongarch64 compiler: PyPI's ziglang (pinned), with python3's
# pip, into DIR (default build/tools/zig), and writes the wrappers the
# kernel build calls (elyz/rlib_kernel/kernel_program.py toolchain_commands):
#   DIR/bin/zig-cc       zig cc        (clang: -target loongarch64-freestanding-none)
#   DIR/bin/zig-ld       zig ld.lld
#   DIR/bin/zig-objcopy  zig objcopy
#   DIR/bin/zig-strip    llvm-strip when installed (zig objcopy cannot strip
#                        LoongArch), else zig objcopy --strip-all
set -e
DIR=${1:-build/tools/zig}
ZIGLANG_VERSION=0.17.1
PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || { echo "error: zig-setup needs python3 with pip" >&2; exit 1; }
mkdir -p "$DIR/bin"
DIR=$(cd "$DIR" && pwd)
if [ ! -f "$DIR/py/ziglang/__main__.py" ]; then
    echo "setup: installing ziglang==$ZIGLANG_VERSION (zig cc for loongarch64) into $DIR"
    "$PY" -m pip install -q --disable-pip-version-check --target "$DIR/py" \
        "ziglang==$ZIGLANG_VERSION" >/tmp/elyz-zig.log 2>&1 || {
        echo "error: pip could not install ziglang==$ZIGLANG_VERSION (see /tmp/elyz-zig.log)" >&2
        exit 1
    }
fi
ZIG="$DIR/py/ziglang/zig"
[ -x "$ZIG" ] || { echo "error: no zig binary in $DIR/py/ziglang" >&2; exit 1; }
write() { # write NAME COMMAND...
    name=$1; shift
    printf '#!/bin/sh\nexec %s "$@"\n' "$*" > "$DIR/bin/$name"
    chmod +x "$DIR/bin/$name"
}
write zig-cc "$ZIG" cc
write zig-ld "$ZIG" ld.lld
write zig-objcopy "$ZIG" objcopy
# zig objcopy cannot strip a LoongArch ELF ("unimplemented"); llvm-strip can.
printf '#!/bin/sh\ncommand -v llvm-strip >/dev/null 2>&1 && exec llvm-strip "$@"\nexec %s objcopy --strip-all "$@"\n' "$ZIG" > "$DIR/bin/zig-strip"
chmod +x "$DIR/bin/zig-strip"
