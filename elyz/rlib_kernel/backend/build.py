"""Compiling and linking a freestanding program.

`compile_and_link(program, c_sources, include_dirs)` compiles every C and
assembly source into program.obj_dir (two at a time; a source whose object
is newer than the source, the headers and the flags is not recompiled),
then links them with the program's linker script into program.output.
Returns the output path.  Raises BuildError with the compiler's message
when a step fails, or when a tool is missing (naming the package).
It records the generated sources and include folders in
program.build_dir/sources.manifest, so that

`relink(program)` can rebuild the output after a change to C or assembly
only, without translating again.  Raises BuildError when there is no
manifest (translate first).
"""

import hashlib
import os
import subprocess

from elyz.rlib_kernel.backend.program import SYSROOT_DIR

JOBS = 2


class BuildError(Exception):
    pass


def _object_name(source):
    base = os.path.basename(source)
    tag = hashlib.sha1(os.path.abspath(source).encode('utf-8')).hexdigest()[:8]
    return '%s.%s.o' % (os.path.splitext(base)[0], tag)


def _compiler_include_dir(cc):
    try:
        out = subprocess.check_output([cc, '-print-file-name=include']).strip()
    except OSError:
        raise BuildError("the C compiler %r was not found: install the distro's "
                         "gcc (Debian: apt-get install gcc binutils)" % cc)
    return out.decode('utf-8') if not isinstance(out, str) else out


def _newest_mtime(paths):
    newest = 0
    for p in paths:
        try:
            newest = max(newest, os.path.getmtime(p))
        except OSError:
            pass
    return newest


def _headers_in(dirs):
    found = []
    for d in dirs:
        for root, _, files in os.walk(d):
            found.extend(os.path.join(root, f) for f in files if f.endswith('.h'))
    return found


def _manifest_path(program):
    return os.path.join(program.build_dir, 'sources.manifest')


def _write_manifest(program, c_sources, include_dirs):
    text = ''.join(['source %s\n' % p for p in c_sources] +
                   ['include %s\n' % d for d in include_dirs])
    path = _manifest_path(program)
    if os.path.exists(path) and open(path).read() == text:
        return
    with open(path, 'w') as f:
        f.write(text)


def relink(program):
    """Compiles what changed and links again from the last translation's
    generated sources; returns the output path."""
    path = _manifest_path(program)
    if not os.path.exists(path):
        raise BuildError("no %s: translate first (rpython targetelyz.py)" % path)
    sources = []
    includes = []
    for line in open(path).read().splitlines():
        kind, _, value = line.partition(' ')
        if kind == 'source':
            sources.append(value)
        elif kind == 'include':
            includes.append(value)
    return compile_and_link(program, sources, includes)


def compile_and_link(program, c_sources, include_dirs=()):
    """Builds program.output from c_sources plus the program's own sources."""
    tc = program.toolchain
    if not os.path.isdir(program.build_dir):
        os.makedirs(program.build_dir)
    _write_manifest(program, c_sources, include_dirs)
    if not os.path.isdir(program.obj_dir):
        os.makedirs(program.obj_dir)
    incs = list(program.include_dirs) + list(include_dirs) + [program.gen_dir, SYSROOT_DIR]
    base_flags = list(tc.cflags) + ['-nostdinc', '-isystem', _compiler_include_dir(tc.cc)]
    for d in incs:
        base_flags += ['-I', d]
    flags_file = os.path.join(program.obj_dir, 'flags')
    flags_text = ' '.join([tc.cc] + base_flags)
    old_flags = open(flags_file).read() if os.path.exists(flags_file) else None
    if old_flags != flags_text:
        with open(flags_file, 'w') as f:
            f.write(flags_text)
    # A header change rebuilds everything: simple, and headers rarely change.
    header_mtime = _newest_mtime(_headers_in([d for d in incs if d != program.gen_dir])
                                 + [os.path.join(program.gen_dir, 'common_header.h'),
                                    os.path.join(program.gen_dir, 'forwarddecl.h'),
                                    os.path.join(program.gen_dir, 'preimpl.h'),
                                    os.path.join(program.gen_dir, 'structdef.h'),
                                    flags_file])
    sources = list(c_sources) + list(program.runtime_sources) + list(program.asm_sources)
    objects = []
    jobs = []
    for src in sources:
        obj = os.path.join(program.obj_dir, _object_name(src))
        objects.append(obj)
        if (os.path.exists(obj) and os.path.getmtime(obj) >= os.path.getmtime(src)
                and os.path.getmtime(obj) >= header_mtime):
            continue
        jobs.append([tc.cc] + base_flags + ['-c', src, '-o', obj])
    _run_parallel(jobs)
    if program.compile_only:
        return None
    link = [tc.ld] + list(tc.ldflags)
    if program.linker_script:
        link += ['-T', program.linker_script]
    link += objects + ['-o', program.output]
    _run(link, 'linking %s' % program.output)
    return program.output


def _run(cmd, what):
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError:
        raise BuildError("%s: the tool %r was not found (Debian: apt-get install gcc binutils)"
                         % (what, cmd[0]))
    out = proc.communicate()[0]
    if proc.returncode != 0:
        raise BuildError("%s failed:\n%s\n%s" % (what, ' '.join(cmd), out))


def _run_parallel(jobs):
    running = []
    pending = list(jobs)
    failures = []
    while pending or running:
        while pending and len(running) < JOBS:
            cmd = pending.pop(0)
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            except OSError:
                raise BuildError("the C compiler %r was not found (Debian: apt-get install gcc)"
                                 % cmd[0])
            running.append((cmd, proc))
        cmd, proc = running.pop(0)
        out = proc.communicate()[0]
        if proc.returncode != 0:
            failures.append("compiling %s failed:\n%s" % (cmd[cmd.index('-c') + 1], out))
    if failures:
        raise BuildError('\n'.join(failures))
