// A bf16 GEMM for CPUs with AVX512-BF16 (Zen 4, Cooper Lake, Sapphire Rapids), in the BLIS
// structure: B is packed into K x 32 panels of bf16 pairs, A into 8-row panels of bf16 pairs, and
// an 8 x 32 micro-kernel accumulates 16 zmm registers with `vdpbf16ps` (two products per lane per
// instruction, summed in fp32). Packing is where the fp32 operands are rounded to bf16, so callers
// pass fp32 and get the numerics of a bf16 GEMM with fp32 accumulation.
//
// Everything that needs AVX-512 carries a target attribute, so this file compiles for any x86-64
// and the caller checks monolith_bf16_gemm_supported() at run time.
#include "bf16_gemm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define MR 8
#define NR 32
#define KC 384   // bf16 pairs of K per block: 192 (an A panel is 8*384*2 B = 6 KiB)
#define NC 768   // columns per B block: 384*768*2 B = 576 KiB, in L2
#define MC 96    // rows per A block

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

int monolith_bf16_gemm_supported(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    int f = (ebx >> 16) & 1, bw = (ebx >> 30) & 1, vl = (ebx >> 31) & 1;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return 0;
    int bf16 = (eax >> 5) & 1;
    // The OS must save the zmm state (XCR0 bits 1, 2, 5, 6, 7).
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int os = (lo & 0xe6) == 0xe6;
    return f && bw && vl && bf16 && os;
}

// Fast packing, for whole panels with an even kc; the conversion is the CPU's own `vcvtneps2bf16`
// (round-to-nearest-even, NaN kept).
//
// Pairs along rows: dst[p][j] = (src(2p, j), src(2p+1, j)) for `width` (8, 16 or 32) columns whose
// elements are contiguous in each source row.
TARGET static void pack_row_pairs(const float *src, long ld, long pairs, int width, uint16_t *dst) {
    for (long p = 0; p < pairs; p++) {
        const float *r0 = src + 2 * p * ld, *r1 = r0 + ld;
        uint32_t *out = (uint32_t *)(dst + p * width * 2);
        for (int j = 0; j < width; j += 16) {
            __mmask16 mask = width - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (width - j)) - 1);
            __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, r0 + j)));
            __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, r1 + j)));
            _mm512_mask_storeu_epi32(out + j, mask, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}

// Pairs along a contiguous line: line `j` of `width` holds k contiguously; dst[p][j] = (x[2p], x[2p+1]).
TARGET static void pack_line_pairs(const float *src, long ld, long pairs, int width, uint16_t *dst) {
    uint32_t tmp[16];
    for (int j = 0; j < width; j++) {
        const float *x = src + j * ld;
        uint32_t *out = (uint32_t *)dst + j;
        long p = 0;
        for (; p + 16 <= pairs; p += 16) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 2 * p + 16), _mm512_loadu_ps(x + 2 * p));
            _mm512_storeu_si512(tmp, (__m512i)v);
            for (int q = 0; q < 16; q++) out[(p + q) * width] = tmp[q];
        }
        for (; p < pairs; p++) out[p * width] = (uint32_t)to_bf16(x[2 * p]) | ((uint32_t)to_bf16(x[2 * p + 1]) << 16);
    }
}

// A [kc x count] block of one operand into panels of `width` lines (NR columns of B, MR rows of
// A): for each pair p, `width` lines x 2. Element (line x, k) is src[k*ld + x] when `k_major` (B as
// stored, or a transposed A), else src[x*ld + k]. Lines past `count` and k past `kc` are zero.
static void pack(const float *src, long ld, int k_major, long x0, long count, int width, long k0, long kc, uint16_t *out) {
    long pairs = (kc + 1) / 2;
    for (long xp = 0; xp < count; xp += width) {
        long lines = count - xp < width ? count - xp : width;
        uint16_t *panel = out + (xp / width) * pairs * width * 2;
        if (lines == width && kc % 2 == 0) {
            if (k_major) pack_row_pairs(src + k0 * ld + x0 + xp, ld, pairs, width, panel);
            else pack_line_pairs(src + (x0 + xp) * ld + k0, ld, pairs, width, panel);
            continue;
        }
        for (long p = 0; p < pairs; p++) {
            uint16_t *dst = panel + p * width * 2;
            for (long x = 0; x < width; x++) {
                for (int h = 0; h < 2; h++) {
                    long kk = k0 + 2 * p + h, line = x0 + xp + x;
                    float v = 0;
                    if (x < lines && 2 * p + h < kc) v = k_major ? src[kk * ld + line] : src[line * ld + kk];
                    dst[2 * x + h] = to_bf16(v);
                }
            }
        }
    }
}

// acc[MR][NR] = sum over pairs of A panel x B panel; then C = alpha*acc + (first ? beta*C : C).
TARGET static void kernel(long pairs, const uint16_t *ap, const uint16_t *bp, float *c, long ldc,
                          long rows, long cols, float alpha, float beta, int first) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    const uint32_t *a32 = (const uint32_t *)ap;
    for (long p = 0; p < pairs; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + p * NR * 2);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + p * NR * 2 + 32);
        const uint32_t *ar = a32 + p * MR;
#define ROW(i)                                                                     \
        {                                                                          \
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)ar[i]);                 \
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);                       \
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);                       \
        }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (long i = 0; i < rows; i++) {
        float *cr = c + i * ldc;
        for (int h = 0; h < 2; h++) {
            long left = cols - h * 16;
            if (left <= 0) break;
            __mmask16 mask = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 r = _mm512_mul_ps(acc[i][h], va);
            if (!first) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask, cr + h * 16));
            else if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, cr + h * 16), r);
            _mm512_mask_storeu_ps(cr + h * 16, mask, r);
        }
    }
}

void monolith_bf16_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
                        const float *a, long lda, const float *b, long ldb,
                        float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    long kcMax = 2 * KC;
    uint16_t *bbuf = aligned_alloc(64, (size_t)((NC + NR) * (KC + 1) * 2 * sizeof(uint16_t)));
    uint16_t *abuf = aligned_alloc(64, (size_t)((MC + MR) * (KC + 1) * 2 * sizeof(uint16_t)));
    for (long j0 = 0; j0 < n; j0 += NC) {
        long nc = n - j0 < NC ? n - j0 : NC;
        for (long k0 = 0; k0 < k; k0 += kcMax) {
            long kc = k - k0 < kcMax ? k - k0 : kcMax, pairs = (kc + 1) / 2;
            int first = k0 == 0;
            pack(b, ldb, !trans_b, j0, nc, NR, k0, kc, bbuf);
            for (long i0 = 0; i0 < m; i0 += MC) {
                long mc = m - i0 < MC ? m - i0 : MC;
                pack(a, lda, trans_a, i0, mc, MR, k0, kc, abuf);
                for (long jp = 0; jp < nc; jp += NR) {
                    long cols = nc - jp < NR ? nc - jp : NR;
                    const uint16_t *bp = bbuf + (jp / NR) * pairs * NR * 2;
                    for (long ip = 0; ip < mc; ip += MR) {
                        long rows = mc - ip < MR ? mc - ip : MR;
                        kernel(pairs, abuf + (ip / MR) * pairs * MR * 2, bp, c + (i0 + ip) * ldc + j0 + jp, ldc,
                               rows, cols, alpha, beta, first);
                    }
                }
            }
        }
    }
    free(bbuf);
    free(abuf);
}

// 12 independent vdpbf16ps chains (enough to cover its latency); returns a sum so nothing is
// optimized away. Each instruction is 16 lanes x 2 products x 2 flops = 64 flops.
TARGET float monolith_bf16_peak_chains(long iterations, float seed) {
    __m512 c[12];
    for (int i = 0; i < 12; i++) c[i] = _mm512_set1_ps(seed + (float)i);
    __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) c[i] = _mm512_dpbf16_ps(c[i], x, y);
        __asm__ volatile("" : "+v"(c[0]), "+v"(c[1]), "+v"(c[2]), "+v"(c[3]), "+v"(c[4]), "+v"(c[5]));
    }
    __m512 s = c[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, c[i]);
    return _mm512_reduce_add_ps(s);
}

#else
float monolith_bf16_peak_chains(long iterations, float seed) { abort(); }
int monolith_bf16_gemm_supported(void) { return 0; }
void monolith_bf16_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
                        const float *a, long lda, const float *b, long ldb,
                        float beta, float *c, long ldc) { abort(); }
#endif
