/* Throughput of the divide and square-root unit: packed double divisions and square roots
 * of two lanes (SSE2, the build's baseline) and of four (AVX2), eight independent chains
 * each. Used for docs/performance.md (Composite report, fifth pass):
 *
 *     cc -O2 -o /tmp/divbench Tools/divbench.c && /tmp/divbench
 *
 * Prints nanoseconds per instruction. x86-64 only. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* b = a / b alternates between two normal values: no denormals, no overflow. */
static double div2(long n) {
    __m128d a = _mm_set1_pd(1.0001), b[8];
    for (int k = 0; k < 8; k++) b[k] = _mm_set1_pd(1.5 + k);
    for (long i = 0; i < n; i++) for (int k = 0; k < 8; k++) b[k] = _mm_div_pd(a, b[k]);
    __m128d s = b[0];
    for (int k = 1; k < 8; k++) s = _mm_add_pd(s, b[k]);
    return s[0];
}

__attribute__((target("avx2"))) static double div4(long n) {
    __m256d a = _mm256_set1_pd(1.0001), b[8];
    for (int k = 0; k < 8; k++) b[k] = _mm256_set1_pd(1.5 + k);
    for (long i = 0; i < n; i++) for (int k = 0; k < 8; k++) b[k] = _mm256_div_pd(a, b[k]);
    __m256d s = b[0];
    for (int k = 1; k < 8; k++) s = _mm256_add_pd(s, b[k]);
    return s[0];
}

static double sqrt2(long n) {
    __m128d b[8];
    for (int k = 0; k < 8; k++) b[k] = _mm_set1_pd(1.5 + k);
    for (long i = 0; i < n; i++) for (int k = 0; k < 8; k++) b[k] = _mm_sqrt_pd(b[k]);
    __m128d s = b[0];
    for (int k = 1; k < 8; k++) s = _mm_add_pd(s, b[k]);
    return s[0];
}

__attribute__((target("avx2"))) static double sqrt4(long n) {
    __m256d b[8];
    for (int k = 0; k < 8; k++) b[k] = _mm256_set1_pd(1.5 + k);
    for (long i = 0; i < n; i++) for (int k = 0; k < 8; k++) b[k] = _mm256_sqrt_pd(b[k]);
    __m256d s = b[0];
    for (int k = 1; k < 8; k++) s = _mm256_add_pd(s, b[k]);
    return s[0];
}

int main(void) {
    const long n = 20000000;
    struct { const char *name; double (*f)(long); int avx; } tests[] = {
        {"divpd, 2 lanes", div2, 0}, {"vdivpd, 4 lanes", div4, 1},
        {"sqrtpd, 2 lanes", sqrt2, 0}, {"vsqrtpd, 4 lanes", sqrt4, 1},
    };
    __builtin_cpu_init();
    for (int t = 0; t < 4; t++) {
        if (tests[t].avx && !__builtin_cpu_supports("avx2")) { printf("%-18s no AVX2\n", tests[t].name); continue; }
        double t0 = now(), r = tests[t].f(n);
        printf("%-18s %.2f ns per instruction (%g)\n", tests[t].name, (now() - t0) / (n * 8.0) * 1e9, r);
    }
    return 0;
}
