"""The freestanding backend: RPython -> C with no libc, and no GC (the
kernel) or RPython's own (user programs).

It knows nothing about the kernel.  A program (the kernel, or a user-mode
program) describes itself with a `FreestandingProgram`:

    FreestandingProgram(name, entry_points, build_dir, toolchain,
                        runtime_sources, include_dirs, link, gc=..., floats=...)

and is built either by the stock `rpython` command line, through
`install(driver, program)` called from the target's `target()` function,
or from a script with `translate(program)`.

Two modes: gc='none' (the kernel: no GC, no floats, allocation-free entry
points checked) and gc='incminimark' (user programs, user/: a real GC with
a shadow stack, floats allowed, the GC's host probes replaced by constants;
the program's C calls RPython_StartupCode() first).

Pipeline: annotate -> rtype -> `check_graphs` (no floats unless allowed, no unsupported
operation, no C function the runtime does not provide; each failure names
the RPython function) -> backendopt -> stack-check insertion ->
`FreestandingBuilder` (the program's GC, exported entry points under fixed C names,
sources written into build_dir/gen, unchanged files left untouched) ->
`compile_and_link` (own sysroot, -nostdinc, parallel and incremental).

Modules:
    options.py   forces the GC (none, or incminimark) before the driver reads
                 its option table; the other options of each mode
    gcsupport.py the GC's environment and hardware probes as constants
    program.py   FreestandingProgram, EntryPoint, Toolchain
    checks.py    the graph checks
    builder.py   the C database/source builder
    build.py     compiling and linking
    driver.py    install() into the rpython driver, translate() from a script
"""
