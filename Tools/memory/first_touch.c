/* First touch of fresh anonymous memory: ms per MB on 4 KiB or 2 MiB pages.
 *
 *   cc -O2 -o /tmp/first_touch Tools/memory/first_touch.c
 *   /tmp/first_touch MB HUGE      (HUGE: 1 = madvise(MADV_HUGEPAGE), 0 = MADV_NOHUGEPAGE)
 *
 * Maps MB (1...65536) of fresh memory on a 2 MiB boundary, writes one byte per 4 KiB page
 * (the faults and the kernel's zeroing), then memsets it all (the same memory, already
 * mapped) for comparison. Exit 2 on a bad argument, 1 when the memory cannot be mapped
 * or advised. Used in docs/performance.md, "Fresh memory on this machine".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* A whole decimal argument in [lo, hi], or -1. */
static long parse(const char *text, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) return -1;
    return v;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MB HUGE   (MB 1...65536, HUGE 0 or 1)\n", argv[0]); return 2; }
    long mb = parse(argv[1], 1, 65536), huge = parse(argv[2], 0, 1);
    if (mb < 0) { fprintf(stderr, "MB must be a whole number in 1...65536, got \"%s\"\n", argv[1]); return 2; }
    if (huge < 0) { fprintf(stderr, "HUGE must be 0 or 1, got \"%s\"\n", argv[2]); return 2; }
    size_t n = (size_t)mb << 20, align = (size_t)2 << 20;
    char *raw = mmap(0, n + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) { perror("mmap"); return 1; }
    char *p = (char *)(((size_t)raw + align - 1) & ~(align - 1));
    if (madvise(p, n, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0) { perror("madvise"); return 1; }
    double t0 = now();
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    double t1 = now();
    memset(p, 2, n);
    double t2 = now();
    printf("%ld MB, %s pages: first touch %.2f ms (%.2f ms/MB); memset of the same memory after %.2f ms\n",
           mb, huge ? "2 MiB" : "4 KiB", (t1 - t0) * 1e3, (t1 - t0) * 1e3 / mb, (t2 - t1) * 1e3);
    return 0;
}
