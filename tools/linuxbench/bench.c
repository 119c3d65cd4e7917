/*
 * bench.c: /init of the Linux side of `make bench-linux` (tools/benchlinux.py).
 *
 * One static program (gcc -O2 -static) booted as the only file of a gzip'd
 * newc initramfs.  Under QEMU's -icount shift=0,sleep=off the TSC counts
 * guest instructions since reset, so every figure is an instruction count,
 * measured as /work/shared/BENCH-FACTS.md says Linux's were:
 *   - each op runs N times in a tight loop between two rdtsc; the empty
 *     loop, timed the same way with the same N, is subtracted;
 *   - a warm-up of N/10 iterations and a 20 ms sleep come before the loop;
 *   - nothing is printed until every loop is done.
 * Then it prints one line per op,
 *     BENCH <op> <iterations> <ns per op> <instructions per op>
 * (ns from CLOCK_MONOTONIC: under -icount virtual ns, about the same number),
 * `BENCH boot_to_init 1 -1 <tsc>` (the TSC at /init's first instruction:
 * bench_entry below, before glibc's own start-up), a `LINUX <release>` line,
 * `BENCH_ERRORS <n>` when an op failed, and powers the machine off.
 *
 * Started with an argument (`/init exit`, the vfork + execve op) it _exits(0)
 * at once; started otherwise when it is not process 1, it prints its usage
 * and returns 2 (tests/toolchain/test_benchlinux.py runs it on the host).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SELF "/init"
#define PAGE 4096
#define SLEEP_NS 20000000L              /* 20 ms before each timed loop */
#define MAX_RESULTS 16

/* The TSC at the first instruction of this program: the ELF entry point is
 * bench_entry (linked with -e bench_entry), which reads the TSC, clears rdx
 * (the x86_64 ABI's atexit pointer: the kernel passes 0) and jumps to glibc's
 * _start with every other register as the kernel left it. */
uint64_t boot_tsc;
__asm__(".text\n"
        ".globl bench_entry\n"
        "bench_entry:\n"
        "    rdtsc\n"
        "    shl $32, %rdx\n"
        "    or %rdx, %rax\n"
        "    mov %rax, boot_tsc(%rip)\n"
        "    xor %edx, %edx\n"
        "    xor %eax, %eax\n"
        "    jmp _start\n");

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline long raw_getpid(void)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
    return r;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int errors;
static int ping[2], pong[2];
static char *const exec_argv[] = { SELF, "exit", NULL };
static char *const exec_envp[] = { NULL };

struct result { const char *op; long n; uint64_t ns, tsc; };
static struct result results[MAX_RESULTS];
static int nresults;

/* A loop: n iterations of body between two rdtsc (and two clock reads
 * outside them); returns the TSC delta, *ns the nanoseconds. */
#define LOOP(name, body)                                                   \
    static uint64_t name(long n, uint64_t *ns)                            \
    {                                                                      \
        uint64_t t0 = now_ns();                                            \
        uint64_t start = rdtsc();                                          \
        for (long i = 0; i < n; i++) {                                     \
            body;                                                          \
        }                                                                  \
        uint64_t end = rdtsc();                                            \
        *ns = now_ns() - t0;                                               \
        return end - start;                                                \
    }

LOOP(loop_empty, __asm__ volatile("" ::: "memory"))
LOOP(loop_getpid, raw_getpid())
LOOP(loop_yield, sched_yield())
LOOP(loop_dup_close, {
    int fd = dup(0);
    if (fd < 0) errors++;
    close(fd);
})
LOOP(loop_mmap_munmap, {
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) errors++;
    munmap(p, PAGE);
})
LOOP(loop_mmap_touch_munmap, {
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { errors++; continue; }
    *(volatile char *)p = 1;
    munmap(p, PAGE);
})
LOOP(loop_pipe_pingpong, {
    char c = 'x';
    if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) errors++;
})
LOOP(loop_fork_exit_wait, {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid) errors++;
})
LOOP(loop_vfork_exit_wait, {
    pid_t pid = vfork();
    if (pid == 0) _exit(0);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid) errors++;
})
LOOP(loop_vfork_exec_wait, {
    int status = -1;
    pid_t pid = vfork();
    if (pid == 0) {
        execve(SELF, exec_argv, exec_envp);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) errors++;
})

typedef uint64_t (*loop_fn)(long, uint64_t *);

static void pause_20ms(void)
{
    struct timespec ts = { 0, SLEEP_NS };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Warm-up, sleep, timed loop; then the empty loop the same way; keeps
 * the figure per op (rounded) for the report. */
static void measure(const char *op, loop_fn loop, long n)
{
    uint64_t ns, empty_ns;
    long warm = n / 10 > 0 ? n / 10 : 1;
    loop(warm, &ns);
    pause_20ms();
    uint64_t spent = loop(n, &ns);
    loop_empty(warm, &empty_ns);
    pause_20ms();
    uint64_t empty = loop_empty(n, &empty_ns);
    struct result *r = &results[nresults++];
    r->op = op;
    r->n = n;
    r->tsc = (spent - empty + (uint64_t)n / 2) / (uint64_t)n;
    r->ns = ns > empty_ns ? (ns - empty_ns + (uint64_t)n / 2) / (uint64_t)n : 0;
}

/* The ping-pong partner: echoes bytes from ping to pong until ping closes. */
static void pipe_partner(void)
{
    char c;
    close(ping[1]);
    close(pong[0]);
    while (read(ping[0], &c, 1) == 1)
        if (write(pong[1], &c, 1) != 1)
            break;
    _exit(0);
}

static void measure_pipe(long n)
{
    if (pipe(ping) < 0 || pipe(pong) < 0) {
        errors++;
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        pipe_partner();
    close(ping[0]);
    close(pong[1]);
    measure("pipe_pingpong", loop_pipe_pingpong, n);
    close(ping[1]);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid)
        errors++;
    close(pong[0]);
}

/* fd 0, 1, 2 on /dev/console, made when the initramfs has none. */
static void open_console(void)
{
    int fd = open("/dev/console", O_RDWR);
    if (fd < 0) {
        mkdir("/dev", 0755);
        mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
        fd = open("/dev/console", O_RDWR);
    }
    if (fd < 0)
        return;
    for (int i = 0; i < 3; i++)
        if (fd != i)
            dup2(fd, i);
    if (fd > 2)
        close(fd);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        _exit(0);
    if (getpid() != 1) {                /* never power off a machine it was not booted on */
        fprintf(stderr, "usage: %s is /init of the bench-linux initramfs "
                "(with an argument: exits 0 at once)\n", argv[0]);
        return 2;
    }
    uint64_t at_init = boot_tsc;
    open_console();
    measure("null_syscall_getpid", loop_getpid, 100000);
    measure("sched_yield", loop_yield, 100000);
    measure("dup_close", loop_dup_close, 100000);
    measure("mmap_munmap_4k", loop_mmap_munmap, 10000);
    measure("mmap_touch_munmap_4k", loop_mmap_touch_munmap, 10000);
    measure_pipe(10000);
    measure("fork_exit_wait", loop_fork_exit_wait, 1000);
    measure("vfork_exit_wait", loop_vfork_exit_wait, 2000);
    measure("vfork_exec_wait", loop_vfork_exec_wait, 200);

    struct utsname u;
    if (uname(&u) == 0)
        printf("LINUX %s\n", u.release);
    printf("BENCH boot_to_init 1 -1 %llu\n", (unsigned long long)at_init);
    for (int i = 0; i < nresults; i++)
        printf("BENCH %s %ld %llu %llu\n", results[i].op, results[i].n,
               (unsigned long long)results[i].ns, (unsigned long long)results[i].tsc);
    if (errors)
        printf("BENCH_ERRORS %d\n", errors);
    printf("BENCH_DONE\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
