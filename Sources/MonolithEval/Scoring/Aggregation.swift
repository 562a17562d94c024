import Foundation
import MonolithKernels

/// lm-eval's aggregation of per-document metrics (`lm_eval/api/metrics.py`) and the standard
/// error it reports with each (`stderr_for_metric`):
///
/// - `acc`, `acc_norm`: `mean` = `sum(arr) / len(arr)`; stderr analytic, `mean_stderr` =
///   sample standard deviation (n − 1) / √n.
/// - `perplexity`: `exp(−mean(lls))`; stderr by `bootstrap_stderr`: `iters // 1000` chunks of
///   1000 resamples, chunk `i` drawn with `random.Random(i).choices(lls, k=len(lls))`, and the
///   sample standard deviation of all resampled perplexities. The same Mersenne Twister draws
///   the same resamples, so the figure equals lm-eval's up to the log-likelihoods' own rounding.
///
/// With one document the stderr is `"N/A"`, as lm-eval writes it.
public enum Aggregation {
    /// Python's `sum(arr) / len(arr)`: left-to-right double addition.
    public static func mean(_ xs: [Double]) -> Double {
        var s = 0.0
        for x in xs { s += x }
        return s / Double(xs.count)
    }

    /// `sample_stddev`: `sqrt(sum((x − mu)²) / (n − 1))`.
    public static func sampleStddev(_ xs: [Double]) -> Double {
        let mu = mean(xs)
        var s = 0.0
        for x in xs { s += (x - mu) * (x - mu) }
        return (s / Double(xs.count - 1)).squareRoot()
    }

    /// The aggregated value of `metric`.
    public static func value(_ metric: MetricKind, _ xs: [Double]) -> Double {
        metric == .perplexity ? exp(-mean(xs)) : mean(xs)
    }

    /// The standard error lm-eval reports for `metric` (nil: "N/A").
    public static func stderr(_ metric: MetricKind, _ xs: [Double], bootstrapIters: Int, pool: WorkerPool = .shared) -> Double? {
        guard xs.count > 1, bootstrapIters > 0 else { return nil }
        switch metric {
        case .acc, .accNorm: return sampleStddev(xs) / Double(xs.count).squareRoot()
        case .perplexity: return bootstrapStderr(xs, iters: bootstrapIters, pool: pool) { exp(-mean($0)) }
        }
    }

    /// `bootstrap_stderr(f, xs, iters)`: chunks of `min(1000, iters)` resamples, chunk `i` from
    /// `Random(i)`, `iters // chunk` chunks; the chunks run in parallel and are concatenated in
    /// order, as `pool.imap` returns them.
    public static func bootstrapStderr(_ xs: [Double], iters: Int, pool: WorkerPool, _ f: ([Double]) -> Double) -> Double {
        let chunk = min(1000, iters), chunks = iters / chunk
        var results = [Double](repeating: 0, count: chunks * chunk)
        results.withUnsafeMutableBufferPointer { out in
            pool.parallelFor(chunks) { range in
                var sample = [Double](repeating: 0, count: xs.count)
                for c in range {
                    var rnd = PythonRandom(seed: c)
                    for r in 0..<chunk {
                        for (k, index) in rnd.choices(populationCount: xs.count, k: xs.count).enumerated() { sample[k] = xs[index] }
                        out[c * chunk + r] = f(sample)
                    }
                }
            }
        }
        return sampleStddev(results)
    }
}
