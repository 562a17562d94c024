import MonolithKernels
@testable import MonolithParallel
import Testing

/// The conjugate pairs and the vocabulary-parallel pieces, each checked against the same
/// computation on unsharded tensors, for several tensor-parallel sizes.
@Suite("Tensor-parallel regions")
struct TensorParallelTests {
    static let tpSizes = [1, 2, 3, 4]

    /// A two-matrix MLP without nonlinearity, Y = X·A·B, split Megatron-style: A by columns,
    /// B by rows. CopyTo/ReduceFrom (or, with sequence parallelism, GatherFrom/ReduceScatterTo)
    /// around it must give the unsharded forward and input gradient.
    @Test("column- then row-parallel matmuls reproduce the unsharded forward and backward",
          arguments: tpSizes, [false, true])
    func columnRowParallel(tp: Int, sequenceParallel: Bool) throws {
        let (n, c, h) = (4 * 3, 5, 12)  // rows divisible by every tp tested, H by tp
        var g = SplitMix64(seed: 7)
        let x = randoms(n * c, &g), a = randoms(c * h, &g), b = randoms(h * c, &g), dy = randoms(n * c, &g)
        let y = matmul(matmul(x, a, n, c, h), b, n, h, c)
        let dx = matmul(matmul(dy, transpose(b, h, c), n, c, h), transpose(a, c, h), n, h, c)

        let results = try InProcessWorld(size: tp).run { comm -> ([Float], [Float]) in
            let cols = h / tp, lo = comm.rank * cols
            let aShard = (0..<c).flatMap { i in (lo..<(lo + cols)).map { a[i * h + $0] } }
            let bShard = Array(b[(lo * c)..<((lo + cols) * c)])
            let rows = n / tp, mine = (comm.rank * rows * c)..<((comm.rank + 1) * rows * c)
            var xFull = x
            if sequenceParallel {
                // Each rank starts from its own row block and gathers the rest.
                let shard = Array(x[mine])
                try shard.withUnsafeBufferPointer { s in
                    try xFull.withUnsafeMutableBufferPointer { try GatherFromSequenceParallelRegion.forward(s, into: $0, group: comm) }
                }
            } else {
                xFull.withUnsafeMutableBufferPointer { CopyToTensorParallelRegion.forward($0, group: comm) }
            }
            var yPartial = matmul(matmul(xFull, aShard, n, c, cols), bShard, n, cols, c)
            var yOut: [Float]
            if sequenceParallel {
                yOut = [Float](repeating: 0, count: rows * c)
                try yPartial.withUnsafeBufferPointer { p in
                    try yOut.withUnsafeMutableBufferPointer { try ReduceScatterToSequenceParallelRegion.forward(p, into: $0, group: comm) }
                }
            } else {
                try yPartial.withUnsafeMutableBufferPointer { try ReduceFromTensorParallelRegion.forward($0, group: comm) }
                yOut = yPartial
            }
            // Backward: the output gradient arrives replicated (or as the rank's row block).
            var dyFull = dy
            if sequenceParallel {
                let shard = Array(dy[mine])
                try shard.withUnsafeBufferPointer { s in
                    try dyFull.withUnsafeMutableBufferPointer { try ReduceScatterToSequenceParallelRegion.backward(s, into: $0, group: comm) }
                }
            } else {
                dyFull.withUnsafeMutableBufferPointer { ReduceFromTensorParallelRegion.backward($0, group: comm) }
            }
            var dxPartial = matmul(matmul(dyFull, transpose(bShard, cols, c), n, c, cols), transpose(aShard, c, cols), n, cols, c)
            var dxOut: [Float]
            if sequenceParallel {
                dxOut = [Float](repeating: 0, count: rows * c)
                try dxPartial.withUnsafeBufferPointer { p in
                    try dxOut.withUnsafeMutableBufferPointer { try GatherFromSequenceParallelRegion.backward(p, into: $0, group: comm) }
                }
            } else {
                try dxPartial.withUnsafeMutableBufferPointer { try CopyToTensorParallelRegion.backward($0, group: comm) }
                dxOut = dxPartial
            }
            return (yOut, dxOut)
        }
        for (r, (yr, dxr)) in results.enumerated() {
            let rows = n / tp, mine = (r * rows * c)..<((r + 1) * rows * c)
            expectClose(yr, sequenceParallel ? Array(y[mine]) : y, "y on rank \(r)")
            expectClose(dxr, sequenceParallel ? Array(dx[mine]) : dx, "dx on rank \(r)")
        }
    }

    @Test("scatter-to-sequence takes the rank's rows; its backward gathers them", arguments: tpSizes)
    func scatterToSequence(tp: Int) throws {
        let full = (0..<(6 * tp)).map(Float.init)
        let results = try InProcessWorld(size: tp).run { comm -> ([Float], [Float]) in
            var shard = [Float](repeating: 0, count: 6)
            try full.withUnsafeBufferPointer { f in
                try shard.withUnsafeMutableBufferPointer { try ScatterToSequenceParallelRegion.forward(f, into: $0, group: comm) }
            }
            var back = [Float](repeating: 0, count: full.count)
            try shard.withUnsafeBufferPointer { s in
                try back.withUnsafeMutableBufferPointer { try ScatterToSequenceParallelRegion.backward(s, into: $0, group: comm) }
            }
            return (shard, back)
        }
        for (r, (shard, back)) in results.enumerated() {
            #expect(shard == Array(full[(6 * r)..<(6 * r + 6)]))
            #expect(back == full)
        }
    }

    @Test("vocabulary shards are equal, cover the padded vocabulary, and know their real columns")
    func vocabShards() {
        let shards = (0..<4).map { VocabShard(vocabulary: 50257, tensorParallel: 4, rank: $0) }
        #expect(shards.map(\.paddedVocabulary) == [50688, 50688, 50688, 50688])
        #expect(shards.map(\.range) == [0..<12672, 12672..<25344, 25344..<38016, 38016..<50688])
        #expect(shards.map(\.realCount) == [12672, 12672, 12672, 12241])
        // A shard can be all padding when the vocabulary is tiny.
        #expect(VocabShard(vocabulary: 10, tensorParallel: 4, rank: 2, multiple: 8).realCount == 0)
    }

    /// Vocab sizes chosen so that some shards are partly padding and, for vocabulary 10 over
    /// tp 4, whole shards are padding.
    @Test("vocab-parallel cross-entropy equals CrossEntropy on the full logits, forward and backward",
          arguments: tpSizes, [10, 77, 300])
    func vocabParallelCrossEntropy(tp: Int, vocab: Int) throws {
        let rows = 9
        var g = SplitMix64(seed: UInt64(1000 * tp + vocab))
        let logits = (0..<(rows * vocab)).map { _ in Float.random(in: -4...4, using: &g) }
        let targets: [Int32] = (0..<rows).map { r in r == 3 ? -1 : Int32.random(in: 0..<Int32(vocab), using: &g) }
        let scale: Float = 0.37
        var refLoss = [Float](repeating: 0, count: rows), refLse = refLoss
        let ref = CrossEntropy.forward(losses: &refLoss, logSumExp: &refLse, logits: logits, targets: targets,
                                       rows: rows, vocab: vocab, stride: vocab, pool: .serial)
        var refGrad = logits
        CrossEntropy.backward(logits: &refGrad, logSumExp: refLse, targets: targets, rows: rows, vocab: vocab,
                              stride: vocab, scale: scale, pool: .serial)

        let results = try InProcessWorld(size: tp).run { comm in
            let shard = VocabShard(vocabulary: vocab, tensorParallel: tp, rank: comm.rank, multiple: 8)
            let stride = shard.count + 3  // a row stride wider than the shard must be respected
            var local = [Float](repeating: 99, count: rows * stride)
            for r in 0..<rows { for j in 0..<shard.realCount { local[r * stride + j] = logits[r * vocab + shard.range.lowerBound + j] } }
            var losses = [Float](repeating: 0, count: rows), lse = losses
            let result = try VocabParallelCrossEntropy.forward(losses: &losses, logSumExp: &lse, logits: local, targets: targets,
                                                               rows: rows, shard: shard, stride: stride, group: comm, pool: .serial)
            VocabParallelCrossEntropy.backward(logits: &local, logSumExp: lse, targets: targets, rows: rows, shard: shard,
                                               stride: stride, scale: scale, pool: .serial)
            return (losses, lse, result.sum, result.count, shard, stride, local)
        }
        for (losses, lse, sum, count, shard, stride, grad) in results {
            expectClose(losses, refLoss, "losses")
            expectClose(lse, refLse, "log-sum-exp")
            #expect(count == ref.count)
            #expect(abs(sum - ref.sum) < 1e-4 * max(1, abs(ref.sum)))
            for r in 0..<rows {
                for j in 0..<shard.count {
                    let v = grad[r * stride + j]
                    let id = shard.range.lowerBound + j
                    if id < vocab {
                        #expect(abs(v - refGrad[r * vocab + id]) < 1e-6, "grad row \(r) id \(id)")
                    } else {
                        #expect(v == 0, "padding column \(id) of row \(r)")
                    }
                }
            }
        }
    }

    @Test("vocab-parallel embedding plus ReduceFrom equals a full lookup; backward touches owned rows only",
          arguments: tpSizes)
    func vocabParallelEmbedding(tp: Int) throws {
        let (vocab, width) = (37, 6)
        var g = SplitMix64(seed: 99)
        let table = randoms(vocab * width, &g)
        let ids: [Int32] = [0, 36, 5, 5, 17, 20, 1]
        let expected = ids.flatMap { Array(table[(Int($0) * width)..<((Int($0) + 1) * width)]) }
        let results = try InProcessWorld(size: tp).run { comm -> ([Float], [Float]) in
            let shard = VocabShard(vocabulary: vocab, tensorParallel: tp, rank: comm.rank, multiple: 4)
            var weight = [Float](repeating: 0, count: shard.count * width)
            for j in 0..<shard.realCount { for k in 0..<width { weight[j * width + k] = table[(shard.range.lowerBound + j) * width + k] } }
            var out = [Float](repeating: -1, count: ids.count * width)
            VocabParallelEmbedding.forward(output: &out, ids: ids, count: ids.count, weight: weight, width: width, shard: shard, pool: .serial)
            try out.withUnsafeMutableBufferPointer { try ReduceFromTensorParallelRegion.forward($0, group: comm) }
            var dw = [Float](repeating: 0, count: shard.count * width)
            let dout = [Float](repeating: 1, count: ids.count * width)
            VocabParallelEmbedding.backward(weightGradient: &dw, outputGradient: dout, ids: ids, count: ids.count, width: width, shard: shard)
            // Row j of this shard should have gathered one per occurrence of its id.
            let counts = (0..<shard.count).map { j in Float(ids.filter { Int($0) == shard.range.lowerBound + j }.count) }
            return (out, zip(0..<shard.count, counts).map { dw[$0.0 * width] - $0.1 })
        }
        for (out, countErrors) in results {
            #expect(out == expected)
            #expect(countErrors.allSatisfy { $0 == 0 })
        }
    }
}

// MARK: Helpers

func randoms(_ n: Int, _ g: inout SplitMix64) -> [Float] {
    (0..<n).map { _ in Float.random(in: -1...1, using: &g) }
}

/// `[m, k] · [k, n]` in Double, rounded to Float.
func matmul(_ a: [Float], _ b: [Float], _ m: Int, _ k: Int, _ n: Int) -> [Float] {
    var out = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n {
        var s = 0.0
        for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
        out[i * n + j] = Float(s)
    } }
    return out
}

func transpose(_ a: [Float], _ rows: Int, _ cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: a.count)
    for i in 0..<rows { for j in 0..<cols { out[j * rows + i] = a[i * cols + j] } }
    return out
}

func expectClose(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float = 2e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) elements", sourceLocation: sourceLocation)
    let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): worst relative difference \(worst)", sourceLocation: sourceLocation)
}
