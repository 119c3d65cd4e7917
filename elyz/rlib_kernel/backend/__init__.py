"""The freestanding backend: RPython -> C with no libc and no GC runtime.

It knows nothing about the kernel.  A program (the kernel, or later a
user-mode program) describes itself with a `FreestandingProgram`:

    FreestandingProgram(name, entry_points, build_dir, toolchain,
                        runtime_sources, include_dirs, link)

and is built either by the stock `rpython` command line, through
`install(driver, program)` called from the target's `target()` function,
or from a script with `translate(program)`.

Pipeline: annotate -> rtype -> `check_graphs` (no floats, no unsupported
operation, no C function the runtime does not provide; each failure names
the RPython function) -> backendopt -> stack-check insertion ->
`FreestandingBuilder` (gc none, exported entry points under fixed C names,
sources written into build_dir/gen, unchanged files left untouched) ->
`compile_and_link` (own sysroot, -nostdinc, parallel and incremental).

Modules:
    options.py   forces gc=none before the driver reads its option table
    program.py   FreestandingProgram, EntryPoint, Toolchain
    checks.py    the graph checks
    builder.py   the C database/source builder
    build.py     compiling and linking
    driver.py    install() into the rpython driver, translate() from a script
"""
