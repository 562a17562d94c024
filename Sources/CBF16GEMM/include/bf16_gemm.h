#ifndef MONOLITH_BF16_GEMM_H
#define MONOLITH_BF16_GEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU executes the AVX512-BF16 micro-kernel (avx512f, avx512bw, avx512vl and
/// avx512_bf16, read with cpuid), 0 otherwise.
int monolith_bf16_gemm_supported(void);

/// Row-major C[m,n] = alpha * op(A) * op(B) + beta * C on the calling thread, with both operands
/// rounded to bf16 (round-to-nearest-even) as they are packed and every product accumulated in
/// fp32 by `vdpbf16ps`. op(A) is m x k (A stored k x m when trans_a), op(B) is k x n (B stored
/// n x k when trans_b). With beta == 0, C is not read. Call only when
/// monolith_bf16_gemm_supported() is 1.
void monolith_bf16_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
                        const float *a, long lda, const float *b, long ldb,
                        float beta, float *c, long ldc);

/// Runs 12 independent chains of `vdpbf16ps` for `iterations` rounds (64 flops each per
/// instruction): the bf16 peak measurement. Call only when monolith_bf16_gemm_supported() is 1.
float monolith_bf16_peak_chains(long iterations, float seed);

#ifdef __cplusplus
}
#endif

#endif
