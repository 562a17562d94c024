/// Softmax cross-entropy over a vocabulary, fused with its backward pass.
///
/// Forward keeps the logits intact (callers and tests can read them) and saves one log-sum-exp per
/// row; backward then overwrites the logits with their gradient in a single pass, so the `[N, V]`
/// buffer is never duplicated. Rows whose target is negative (conventionally −1) are ignored.
public enum CrossEntropy {
    /// Per-row losses and log-sum-exp. Returns the summed loss over rows with a valid target and
    /// their count. `logits` rows are `stride` apart with the first `vocab` entries real (a padded
    /// vocabulary keeps its padding out of the softmax).
    @discardableResult
    public static func forward(losses: UnsafeMutablePointer<Float>, logSumExp lse: UnsafeMutablePointer<Float>,
                               logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                               rows: Int, vocab: Int, stride: Int, pool: WorkerPool = .shared) -> (sum: Double, count: Int) {
        pool.parallelFor(rows) { range in
            for r in range {
                let row = logits + r * stride
                let l = Softmax.logSumExp(row, count: vocab)
                lse[r] = l
                let target = Int(targets[r])
                losses[r] = target < 0 ? 0 : l - row[target]
            }
        }
        var sum = 0.0, count = 0
        for r in 0..<rows where targets[r] >= 0 { sum += Double(losses[r]); count += 1 }
        return (sum, count)
    }

    /// Overwrites `logits` with `scale · (softmax(logits) − onehot(target))`; ignored rows become 0.
    /// Padding columns (`vocab ..< stride`) get a zero gradient.
    public static func backward(logits: UnsafeMutablePointer<Float>, logSumExp lse: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, rows: Int, vocab: Int, stride: Int,
                                scale: Float, pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range {
                let row = logits + r * stride
                let target = Int(targets[r])
                if target < 0 { row.initialize(repeating: 0, count: stride); continue }
                let lv = Vec(repeating: lse[r]), sv = Vec(repeating: scale)
                var j = 0
                while j + vecWidth <= vocab { store(fastExp(load(row + j) - lv) * sv, row + j); j += vecWidth }
                while j < vocab { row[j] = fastExp(row[j] - lse[r]) * scale; j += 1 }
                if vocab < stride { (row + vocab).initialize(repeating: 0, count: stride - vocab) }
                row[target] -= scale
            }
        }
    }
}
