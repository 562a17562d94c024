import MonolithKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Megatron-style tensor parallelism is built from conjugate communication pairs: each operation's
// backward is the transpose of its forward, so a model that places the forward half correctly gets
// correct gradients by calling the matching backward. The pairs live together in this one file so
// that the forward/backward symmetry can be checked at a glance.
//
// One transformer block with tp ranks (B·T rows of width C, shape letters as in the kernels):
//
//   x ─ LN ─ CopyTo ─ qkv (column-parallel, heads split) ─ attention ─ proj (row-parallel) ─ ReduceFrom ─ + x
//   x ─ LN ─ CopyTo ─ fc  (column-parallel, 4C/tp cols)  ─ GELU      ─ fc2  (row-parallel) ─ ReduceFrom ─ + x
//
// so one all-reduce forward (ReduceFrom) and one backward (CopyTo) per half-block. With sequence
// parallelism the replicated LayerNorm/dropout regions are instead split by rows over the tp ranks:
// CopyTo becomes GatherFromSequence (all-gather forward, reduce-scatter backward) and ReduceFrom
// becomes ReduceScatterToSequence (reduce-scatter forward, all-gather backward): the same bytes
// moved, but the LayerNorm/dropout work and activations are divided by tp.
//
// Sequence-parallel shards are contiguous blocks of rows of the flattened [B·T, C] activation: rank
// r holds rows r·(B·T/tp) ..< (r+1)·(B·T/tp). LayerNorm, dropout and the residual add are
// row-wise, so any row partition is valid, and a contiguous one needs no copies around the
// collectives. B·T must be divisible by tp.

/// Enters a tensor-parallel region (before a column-parallel matmul): identity forward, all-reduce
/// backward. Megatron's `copy_to_tensor_model_parallel_region` (the `f` of the Megatron-LM paper).
public enum CopyToTensorParallelRegion {
    /// Forward: the input is already replicated on every tensor rank, so nothing moves. Exists so
    /// the call site reads as the pair it is.
    @inlinable @inline(__always)
    public static func forward(_ x: UnsafeMutableBufferPointer<Float>, group: any Communicator) {}

    /// Backward: each rank's column slice contributed a partial gradient to the shared input;
    /// the true gradient is their sum.
    public static func backward(_ gradient: UnsafeMutableBufferPointer<Float>, group: any Communicator) throws(CommError) {
        if group.size > 1 { try group.allReduce(gradient, op: .sum) }
    }
}

/// Leaves a tensor-parallel region (after a row-parallel matmul): all-reduce forward, identity
/// backward. Megatron's `reduce_from_tensor_model_parallel_region` (the paper's `g`).
public enum ReduceFromTensorParallelRegion {
    /// Forward: each rank holds a partial sum over its slice of the inner dimension; add them.
    public static func forward(_ x: UnsafeMutableBufferPointer<Float>, group: any Communicator) throws(CommError) {
        if group.size > 1 { try group.allReduce(x, op: .sum) }
    }

    /// Backward: the output was replicated, so each rank's gradient is already the full one.
    @inlinable @inline(__always)
    public static func backward(_ gradient: UnsafeMutableBufferPointer<Float>, group: any Communicator) {}
}

/// Splits a replicated activation into this rank's row block: split forward, all-gather backward.
/// Megatron's `scatter_to_sequence_parallel_region` (used once, after the embedding).
public enum ScatterToSequenceParallelRegion {
    /// Copies rows `rank · n ..< (rank+1) · n` of `full` (`tp · n` elements) into `shard` (`n`).
    public static func forward(_ full: UnsafeBufferPointer<Float>, into shard: UnsafeMutableBufferPointer<Float>,
                               group: any Communicator) throws(CommError) {
        guard full.count == shard.count * group.size else {
            throw .invalidArgument("scatter to sequence region: \(full.count) elements is not \(group.size) × \(shard.count)")
        }
        shard.baseAddress?.update(from: full.baseAddress! + group.rank * shard.count, count: shard.count)
    }

    /// Gathers every rank's shard gradient into the full gradient.
    public static func backward(_ shardGradient: UnsafeBufferPointer<Float>, into fullGradient: UnsafeMutableBufferPointer<Float>,
                                group: any Communicator) throws(CommError) {
        try group.allGather(shardGradient, into: fullGradient)
    }
}

/// Enters a tensor-parallel region from a sequence-parallel one: all-gather forward,
/// reduce-scatter backward. Megatron's `gather_from_sequence_parallel_region`; replaces
/// ``CopyToTensorParallelRegion`` when sequence parallelism is on.
public enum GatherFromSequenceParallelRegion {
    /// Concatenates every rank's row block `shard` (`n`) into `full` (`tp · n`).
    public static func forward(_ shard: UnsafeBufferPointer<Float>, into full: UnsafeMutableBufferPointer<Float>,
                               group: any Communicator) throws(CommError) {
        try group.allGather(shard, into: full)
    }

    /// Sums the partial gradients of the full activation over ranks and keeps this rank's rows.
    public static func backward(_ fullGradient: UnsafeBufferPointer<Float>, into shardGradient: UnsafeMutableBufferPointer<Float>,
                                group: any Communicator) throws(CommError) {
        try group.reduceScatter(fullGradient, into: shardGradient, op: .sum)
    }
}

/// Leaves a tensor-parallel region into a sequence-parallel one: reduce-scatter forward,
/// all-gather backward. Megatron's `reduce_scatter_to_sequence_parallel_region`; replaces
/// ``ReduceFromTensorParallelRegion`` when sequence parallelism is on.
public enum ReduceScatterToSequenceParallelRegion {
    /// Sums every rank's partial `full` (`tp · n`) and keeps this rank's row block in `shard` (`n`).
    public static func forward(_ full: UnsafeBufferPointer<Float>, into shard: UnsafeMutableBufferPointer<Float>,
                               group: any Communicator) throws(CommError) {
        try group.reduceScatter(full, into: shard, op: .sum)
    }

    /// Gathers the row-block gradients into the (replicated) full gradient.
    public static func backward(_ shardGradient: UnsafeBufferPointer<Float>, into fullGradient: UnsafeMutableBufferPointer<Float>,
                                group: any Communicator) throws(CommError) {
        try group.allGather(shardGradient, into: fullGradient)
    }
}

// MARK: Vocabulary parallelism

/// The slice of a padded vocabulary that one tensor-parallel rank owns: rows of the token
/// embedding and columns of the logits.
///
/// ```swift
/// let shard = VocabShard(vocabulary: 50257, tensorParallel: 4, rank: 3)
/// shard.paddedVocabulary   // 50688 (a multiple of 128 · 4)
/// shard.range              // 38016 ..< 50688
/// shard.realCount          // 12241: the columns below 50257; the rest is padding
/// ```
public struct VocabShard: Sendable, Equatable {
    /// The model's real vocabulary.
    public let vocabulary: Int
    /// The vocabulary padded to a multiple of `multiple · tp`.
    public let paddedVocabulary: Int
    /// This rank's ids in the padded vocabulary (all shards are equal).
    public let range: Range<Int>

    /// The shard of `rank` among `tensorParallel` ranks.
    public init(vocabulary: Int, tensorParallel: Int, rank: Int, multiple: Int = 128) {
        precondition(rank >= 0 && rank < tensorParallel, "rank \(rank) outside tp \(tensorParallel)")
        self.vocabulary = vocabulary
        paddedVocabulary = Self.paddedVocabulary(vocabulary, tensorParallel: tensorParallel, multiple: multiple)
        let per = paddedVocabulary / tensorParallel
        range = (rank * per)..<((rank + 1) * per)
    }

    /// `vocab` rounded up to a multiple of `multiple · tensorParallel`, so every shard is equal
    /// and a multiple of `multiple` wide (Megatron's `--make-vocab-size-divisible-by`).
    public static func paddedVocabulary(_ vocab: Int, tensorParallel: Int, multiple: Int = 128) -> Int {
        let step = multiple * tensorParallel
        return (vocab + step - 1) / step * step
    }

    /// Columns of this shard: the logits row stride needed is at least this.
    public var count: Int { range.count }
    /// Columns of this shard that are real tokens (the rest are padding, never predicted).
    public var realCount: Int { max(0, min(range.upperBound, vocabulary) - range.lowerBound) }
}

/// Cross-entropy over logits split by vocabulary across the tensor-parallel group, without ever
/// gathering the `[N, V]` logits (Megatron's `vocab_parallel_cross_entropy`).
///
/// Each rank holds `[N, V/tp]` logits. Forward needs two all-reduces of `N` (or `2N`) floats:
/// the max over ranks of each row's local log-sum-exp (a stable shift), then the sum of the
/// shifted local sums together with the target logit (owned by exactly one rank; the others
/// contribute 0). Backward is purely local: `softmax − onehot` on the own columns, using the saved
/// global log-sum-exp. The results equal ``CrossEntropy`` on the unsharded logits up to float
/// rounding.
public enum VocabParallelCrossEntropy {
    /// Per-row losses and global log-sum-exp, as ``CrossEntropy/forward(losses:logSumExp:logits:targets:rows:vocab:stride:pool:)``.
    /// `targets` are global token ids (negative: ignored row). Identical results on every tensor
    /// rank. Returns the summed loss over valid rows and their count.
    @discardableResult
    public static func forward(losses: UnsafeMutablePointer<Float>, logSumExp lse: UnsafeMutablePointer<Float>,
                               logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows: Int,
                               shard: VocabShard, stride: Int, group: any Communicator,
                               pool: WorkerPool = .shared) throws(CommError) -> (sum: Double, count: Int) {
        precondition(stride >= shard.count, "logit row stride \(stride) is narrower than the shard (\(shard.count))")
        // One rank holds every column: the fused kernel, with no row statistics to reduce.
        if group.size == 1 {
            return CrossEntropy.forward(losses: losses, logSumExp: lse, logits: logits, targets: targets, rows: rows,
                                        vocab: shard.realCount, stride: stride, pool: pool)
        }
        let real = shard.realCount, start = shard.range.lowerBound
        // Local log-sum-exp of the real columns (−∞ for an all-padding shard).
        pool.parallelFor(rows) { range in
            for r in range { lse[r] = real > 0 ? Softmax.logSumExp(logits + r * stride, count: real) : -.infinity }
        }
        var shift = Array(UnsafeBufferPointer(start: lse, count: rows))
        try group.allReduce(&shift, op: .max)
        // [Σ exp(lse_r − shift) over ranks, target logit] per row, in one all-reduce.
        var sums = [Float](repeating: 0, count: 2 * rows)
        for r in 0..<rows {
            sums[2 * r] = lse[r] == -.infinity ? 0 : expf(lse[r] - shift[r])
            let t = Int(targets[r]) - start
            if t >= 0 && t < real { sums[2 * r + 1] = logits[r * stride + t] }
        }
        try group.allReduce(&sums, op: .sum)
        var sum = 0.0, count = 0
        for r in 0..<rows {
            lse[r] = shift[r] + logf(sums[2 * r])
            if targets[r] < 0 { losses[r] = 0; continue }
            losses[r] = lse[r] - sums[2 * r + 1]
            sum += Double(losses[r]); count += 1
        }
        return (sum, count)
    }

    /// Overwrites this rank's logits with `scale · (softmax − onehot(target))` on its columns,
    /// using the global log-sum-exp from ``forward(losses:logSumExp:logits:targets:rows:shard:stride:group:pool:)``.
    /// Ignored rows and padding columns get 0. No communication.
    public static func backward(logits: UnsafeMutablePointer<Float>, logSumExp lse: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, rows: Int, shard: VocabShard, stride: Int,
                                scale: Float, pool: WorkerPool = .shared) {
        let real = shard.realCount, start = shard.range.lowerBound, width = shard.count
        pool.parallelFor(rows) { range in
            for r in range {
                let row = logits + r * stride
                if targets[r] < 0 { row.update(repeating: 0, count: width); continue }
                let lv = Vec(repeating: lse[r]), sv = Vec(repeating: scale)
                var j = 0
                while j + vecWidth <= real { store(fastExp(load(row + j) - lv) * sv, row + j); j += vecWidth }
                while j < real { row[j] = fastExp(row[j] - lse[r]) * scale; j += 1 }
                if real < width { (row + real).update(repeating: 0, count: width - real) }
                let t = Int(targets[r]) - start
                if t >= 0 && t < real { row[t] -= scale }
            }
        }
    }
}

/// Token embedding with the table split by vocabulary rows across the tensor-parallel group
/// (Megatron's `VocabParallelEmbedding`). Forward looks up the ids this rank owns and writes zeros
/// for the others; the caller then sums over ranks with ``ReduceFromTensorParallelRegion`` (and
/// adds the position embedding after that, once). Backward accumulates only the owned rows.
public enum VocabParallelEmbedding {
    /// `output[i] = weight[ids[i] − start]` for owned ids, else 0. `weight` is this rank's
    /// `[shard.count, width]` slice; `output` is `[count, width]`.
    public static func forward(output: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, count: Int,
                               weight: UnsafePointer<Float>, width: Int, shard: VocabShard, pool: WorkerPool = .shared) {
        let start = shard.range.lowerBound, owned = shard.count
        pool.parallelFor(count) { range in
            for i in range {
                let local = Int(ids[i]) - start
                if local >= 0 && local < owned { (output + i * width).update(from: weight + local * width, count: width) }
                else { (output + i * width).update(repeating: 0, count: width) }
            }
        }
    }

    /// `weightGradient[ids[i] − start] += outputGradient[i]` for owned ids. Serial: ids repeat, and
    /// the embedding gradient is a small share of a step.
    public static func backward(weightGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
                                ids: UnsafePointer<Int32>, count: Int, width: Int, shard: VocabShard) {
        let start = shard.range.lowerBound, owned = shard.count
        for i in 0..<count {
            let local = Int(ids[i]) - start
            guard local >= 0 && local < owned else { continue }
            let dst = weightGradient + local * width, src = outputGradient + i * width
            for j in 0..<width { dst[j] += src[j] }
        }
    }
}
