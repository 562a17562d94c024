import CBF16GEMM
import Foundation

/// Measures this machine's fp32 FMA peak, the denominator of MFU.
///
/// Stated peaks are per CPU model and these machines vary (Intel Xeon with two 512-bit FMA units
/// in one image, AMD EPYC in another), so `monolith bench` measures rather than assumes: each
/// pool thread runs 12 independent `SIMD16<Float>` FMA chains, enough to cover FMA latency.
public enum PeakFlops {
    /// Achieved GFLOP/s over all pool threads, best of `trials`.
    public static func measure(pool: WorkerPool = .shared, iterations: Int = 2_000_000, trials: Int = 3) -> Double {
        best(pool: pool, trials: trials, flopsPerThread: Double(iterations) * 12 * 16 * 2) { seed in
            chains(iterations: iterations, seed: seed)
        }
    }

    /// The best GFLOP/s of `trials` runs of `chain` on every pool thread at once, each thread doing
    /// `flopsPerThread`; `chain` gets a per-thread seed and returns a value kept from the optimizer.
    static func best(pool: WorkerPool, trials: Int, flopsPerThread: Double, chain: (Float) -> Float) -> Double {
        var best = 0.0
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: pool.threadCount)
        defer { sink.deallocate() }
        for _ in 0..<trials {
            let t0 = DispatchTime.now().uptimeNanoseconds
            pool.run { t in sink[t] = chain(Float(t + 1)) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, Double(pool.threadCount) * flopsPerThread / seconds / 1e9)
        }
        return best
    }

    /// The peak a training run of `precision` is measured against: the AVX512-BF16 `vdpbf16ps`
    /// rate when bf16 products run on it (``BF16Gemm``), else the fp32 FMA peak (bf16 emulated
    /// on fp32 units, and fp16, which no CPU here computes natively).
    public static func measure(precision: Precision, pool: WorkerPool = .shared, iterations: Int = 2_000_000,
                               trials: Int = 3) -> Double {
        guard precision == .bf16 && BF16Gemm.backend == .avx512bf16 else {
            return measure(pool: pool, iterations: iterations, trials: trials)
        }
        return measureBF16(pool: pool, iterations: iterations, trials: trials)
    }

    /// Achieved bf16 GFLOP/s of `vdpbf16ps` over all pool threads, best of `trials` (needs
    /// ``BF16Gemm/isSupported``).
    public static func measureBF16(pool: WorkerPool = .shared, iterations: Int = 2_000_000, trials: Int = 3) -> Double {
        precondition(BF16Gemm.isSupported, "this CPU has no AVX512-BF16")
        // 12 chains of vdpbf16ps, 64 flops each (16 lanes × 2 products × 2).
        return best(pool: pool, trials: trials, flopsPerThread: Double(iterations) * 12 * 64) { seed in
            monolith_bf16_peak_chains(iterations, seed)
        }
    }

    @inline(never)
    static func chains(iterations: Int, seed: Float) -> Float {
        let m = Vec(repeating: 0.999_999), a = Vec(repeating: 1e-7)
        var c0 = Vec(repeating: seed), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3, c4 = c0 + 4, c5 = c0 + 5
        var c6 = c0 + 6, c7 = c0 + 7, c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11
        for _ in 0..<iterations {
            c0 = a.addingProduct(c0, m); c1 = a.addingProduct(c1, m); c2 = a.addingProduct(c2, m)
            c3 = a.addingProduct(c3, m); c4 = a.addingProduct(c4, m); c5 = a.addingProduct(c5, m)
            c6 = a.addingProduct(c6, m); c7 = a.addingProduct(c7, m); c8 = a.addingProduct(c8, m)
            c9 = a.addingProduct(c9, m); c10 = a.addingProduct(c10, m); c11 = a.addingProduct(c11, m)
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).sum()
    }
}
