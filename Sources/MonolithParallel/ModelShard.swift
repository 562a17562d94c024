import MonolithKernels
import MonolithModel

/// What one rank of a model replica holds under tensor and pipeline parallelism: the parameters
/// and gradients of its (tensor rank, pipeline stage), in flat local buffers laid out by
/// ``ShardLayout``, and the forward and backward of each of its chunks.
///
/// Nothing full-sized lives here: blocks are Megatron-sliced over the tensor group
/// (``TensorParallelBlock``), the token embedding and the tied `lm_head` are vocab-parallel
/// (``VocabParallelEmbedding``, ``VocabParallelCrossEntropy``), and only the chunks of this
/// pipeline stage are present. A ``PipelineStage`` walks the schedule over the chunks; with one
/// stage and one tensor rank the shard is simply the whole model.
///
/// ```swift
/// let layout = ShardLayout(config: config, tensorParallel: 2, tensorRank: groups.coordinates.tp,
///                          stages: 2, stage: groups.coordinates.pp)
/// let shard = ModelShard(layout: layout, tensor: groups.tensor, batch: 4, seqLen: 256, recompute: .selective)
/// shard.load(fullParameters: model.parameters.base)   // slice a full model
/// ```
public final class ModelShard {
    /// Where each local tensor sits.
    public let layout: ShardLayout
    /// The tensor-parallel group.
    public let tensor: any Communicator
    /// Local parameters and gradients (``ShardLayout/count`` floats, or more when ZeRO pads them).
    public let parameters: FloatBuffer, gradients: FloatBuffer
    /// Micro-batch shape.
    public let batch: Int, seqLen: Int
    /// What backward recomputes.
    public let recompute: ActivationRecompute
    /// Whether the LayerNorm/residual regions hold only `rows` of the `B·T` tokens.
    public let sequenceParallel: Bool
    /// Rows of the residual stream on this rank: `B·T`, or `B·T/tp` with sequence parallelism.
    public let rows: Int
    /// Dropout probability of every site (0: off) and the seed its masks derive from, as ``GPT``'s
    /// `dropoutSeed`; with the same seed and step the masks equal the whole model's.
    public var dropout: Float = 0, dropoutSeed: UInt64 = 0
    public let pool: WorkerPool
    let temps: TensorParallelBlockTemporaries
    /// The shared set that fully recomputed blocks run in.
    let scratch: TensorParallelBlockActivations?
    let lnScratch: FloatBuffer

    /// The full model's shape.
    public var config: GPTConfig { layout.config }

    /// A zeroed shard; `bufferCount` pads the flat buffers (ZeRO's equal slots).
    public init(layout: ShardLayout, tensor: any Communicator, batch: Int, seqLen: Int, recompute: ActivationRecompute = .none,
                sequenceParallel: Bool = false, bufferCount: Int = 0, pool: WorkerPool = .shared) {
        precondition(tensor.size == layout.tensorParallel && tensor.rank == layout.tensorRank,
                     "tensor group \(tensor.name) does not match the layout's tensor rank")
        precondition(!sequenceParallel || (batch * seqLen) % tensor.size == 0, "sequence parallelism needs B·T divisible by tp")
        self.layout = layout; self.tensor = tensor; self.batch = batch; self.seqLen = seqLen; self.recompute = recompute
        self.sequenceParallel = sequenceParallel
        rows = sequenceParallel ? batch * seqLen / tensor.size : batch * seqLen
        self.pool = pool
        parameters = FloatBuffer(count: max(bufferCount, layout.count))
        gradients = FloatBuffer(count: max(bufferCount, layout.count))
        let c = layout.config
        temps = TensorParallelBlockTemporaries(batch: batch, seqLen: seqLen, channels: c.nEmbd, heads: c.nHead,
                                               tensorParallel: layout.tensorParallel,
                                               probabilityScratch: !recompute.keepsProbabilities, pool: pool)
        let anyFull = layout.chunkLayers.joined().contains { recompute.recomputesBlock($0) }
        scratch = anyFull ? TensorParallelBlockActivations(batch: batch, seqLen: seqLen, channels: c.nEmbd, heads: c.nHead,
                                                           tensorParallel: layout.tensorParallel,
                                                           sequenceParallel: sequenceParallel, temps: temps) : nil
        lnScratch = FloatBuffer(count: LayerNorm.scratchCount(channels: c.nEmbd, pool: pool))
    }

    /// Block `l`'s local weights and gradients.
    public func weights(_ l: Int) -> BlockTensors { BlockTensors(base: parameters.base, offsets: layout.blocks[l]!) }
    public func blockGradients(_ l: Int) -> BlockTensors { BlockTensors(base: gradients.base, offsets: layout.blocks[l]!) }

    /// Takes this rank's slices of a full flat parameter buffer (``ParameterLayout`` order).
    public func load(fullParameters: UnsafePointer<Float>) { layout.slice(fullParameters, into: parameters.base) }

    /// GPT-2 initialization of this rank's slices, value for value what ``GPT/initializeWeights(seed:)``
    /// gives the whole model (embedding padding rows stay zero), without building the whole model.
    public func initializeWeights(seed: UInt64) {
        let full = ParameterLayout(config: config)
        var stream: [String: Int] = [:]
        for (i, t) in full.tensors.enumerated() { stream[t.name] = i }
        parameters.zero(pool: pool)
        for e in layout.entries {
            let i = stream[e.name]!, spec = full.tensors[i]
            for span in e.spans {
                let first = span.full - spec.offset
                GPT.initialize(spec, stream: i, elements: first..<(first + span.count), into: parameters.base + span.local,
                               config: config, seed: seed)
            }
        }
    }

    /// Zeroes the local gradients.
    public func zeroGradients() { gradients.zero(pool: pool) }

    /// Bytes held outside the activation sets: parameters, gradients, backward temporaries and the
    /// recompute scratch.
    public var stateBytes: Int { (parameters.count + gradients.count) * 4 + temps.bytes + (scratch?.bytes ?? 0) }

    /// A fresh activation set for chunk `chunk`.
    public func makeActivations(chunk: Int) -> ChunkActivations {
        ChunkActivations(shard: self, chunk: chunk)
    }

    // MARK: Forward

    /// Runs chunk `acts.chunk` on one micro-batch: from the tokens `ids` on the first virtual stage,
    /// else from `input` (`[rows, C]`, the previous virtual stage's output). Returns the summed loss
    /// and its token count on the last virtual stage (`targets` are global ids, −1 ignored), else
    /// writes the chunk's output to `output` and returns nil.
    /// `dropoutStep` is the micro-batch's global index (``GPT``'s `dropoutStep`).
    @discardableResult
    public func forward(_ acts: ChunkActivations, ids: [Int32], targets: [Int32], input: UnsafePointer<Float>?,
                        output: UnsafeMutablePointer<Float>?, dropoutStep: Int = 0) throws(CommError) -> (sum: Double, count: Int)? {
        let c = config.nEmbd, n = rows
        if let input { acts.encoded.base.update(from: input, count: n * c) } else {
            try embed(ids, into: acts.encoded.base)
            embeddingDropout(dropoutStep).apply(acts.encoded.base, count: n * c, offset: firstRow * c, pool: pool)
        }
        var x = UnsafePointer(acts.encoded.base)
        for l in acts.layers {
            if let saved = acts.savedInputs[l] { saved.base.update(from: x, count: n * c); x = UnsafePointer(saved.base) }
            let a = acts.blocks[l] ?? scratch!
            try TensorParallelBlock.forward(input: x, w: weights(l), a: a, temps: temps, channels: c, heads: config.nHead,
                                            eps: config.layerNormEpsilon, dropout: dropoutSites(l, dropoutStep), group: tensor, pool: pool)
            x = UnsafePointer(a.res2)
        }
        guard let head = acts.head else {
            output!.update(from: x, count: n * c)
            return nil
        }
        return try head.forward(x, shard: self, targets: targets)
    }

    /// Token embedding summed over the vocabulary shards (all-reduced, or reduce-scattered to this
    /// rank's rows), plus the positions of those rows.
    func embed(_ ids: [Int32], into out: UnsafeMutablePointer<Float>) throws(CommError) {
        let n = batch * seqLen, c = config.nEmbd, t = seqLen, p = parameters.base
        let looked = sequenceParallel ? temps.full : out
        ids.withUnsafeBufferPointer {
            VocabParallelEmbedding.forward(output: looked, ids: $0.baseAddress!, count: n, weight: p + layout.wte!, width: c,
                                           shard: layout.vocab, pool: pool)
        }
        if sequenceParallel {
            try ReduceScatterToSequenceParallelRegion.forward(UnsafeBufferPointer(start: looked, count: n * c),
                                                              into: UnsafeMutableBufferPointer(start: out, count: rows * c), group: tensor)
        } else {
            try ReduceFromTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: out, count: n * c), group: tensor)
        }
        let wpe = p + layout.wpe!, first = firstRow
        for r in 0..<rows { Residual.add(output: out + r * c, out + r * c, wpe + ((first + r) % t) * c, count: c, pool: .serial) }
    }

    /// The sites of block `l` for micro-batch `step`, seeded as ``GPT`` seeds them.
    func dropoutSites(_ l: Int, _ step: Int) -> TransformerBlock.DropoutSites {
        TransformerBlock.DropoutSites.layer(l, p: dropout, seed: dropoutSeed, step: step)
    }

    func embeddingDropout(_ step: Int) -> Dropout {
        TransformerBlock.DropoutSites.embedding(p: dropout, seed: dropoutSeed, step: step, layers: config.nLayer)
    }

    /// Global index of this rank's first residual row.
    var firstRow: Int { sequenceParallel ? tensor.rank * rows : 0 }

    // MARK: Backward

    /// Backward of the last forward of `acts`, starting from `outputGradient` (∂L/∂output, from the
    /// next virtual stage) or, on the last virtual stage, from the loss scaled by
    /// `lossScale / tokens`. Accumulates the local gradients and, except on the first virtual
    /// stage, writes ∂L/∂input to `inputGradient`.
    /// `gradientsReady(offset)`, when given, is told each time every local gradient at offsets
    /// `≥ offset` is final for this step (pass it on a chunk's last backward of the step): after the
    /// head, after each block, and after the embeddings (``ShardLayout`` orders the buffer so).
    public func backward(_ acts: ChunkActivations, ids: [Int32], targets: [Int32], lossScale: Float,
                         outputGradient: UnsafePointer<Float>?, inputGradient: UnsafeMutablePointer<Float>?,
                         dropoutStep: Int = 0, gradientsReady: ((Int) -> Void)? = nil) throws(CommError) {
        let n = rows, c = config.nEmbd
        let dres = acts.dresidual.base
        if let outputGradient { dres.update(from: outputGradient, count: n * c) }
        else {
            try acts.head!.backward(into: dres, shard: self, targets: targets, lossScale: lossScale)
            gradientsReady?(layout.lnf!)
        }
        for (i, l) in acts.layers.enumerated().reversed() {
            let input = acts.input(of: l, index: i)
            let a: TensorParallelBlockActivations
            let sites = dropoutSites(l, dropoutStep)
            if let kept = acts.blocks[l] { a = kept } else {
                a = scratch!
                try TensorParallelBlock.forward(input: input, w: weights(l), a: a, temps: temps, channels: c, heads: config.nHead,
                                                eps: config.layerNormEpsilon, dropout: sites, group: tensor, pool: pool)
            }
            try TensorParallelBlock.backward(dresidual: dres, input: input, w: weights(l), g: blockGradients(l), a: a, temps: temps,
                                             channels: c, heads: config.nHead, dropout: sites, group: tensor, pool: pool)
            gradientsReady?(layout.blocks[l]!.ln1w)
        }
        if layout.isFirst(chunk: acts.chunk) {
            embeddingDropout(dropoutStep).apply(dres, count: n * c, offset: firstRow * c, pool: pool)
            // The embedding sum's backward (ReduceFrom) is the identity: each rank adds its own rows.
            let t = seqLen, dwpe = gradients.base + layout.wpe!, first = firstRow
            for r in 0..<n {
                let pos = (first + r) % t
                Residual.add(output: dwpe + pos * c, dwpe + pos * c, dres + r * c, count: c, pool: .serial)
            }
            var full = UnsafePointer(dres)
            if sequenceParallel {
                try ReduceScatterToSequenceParallelRegion.backward(UnsafeBufferPointer(start: dres, count: n * c),
                                                                   into: UnsafeMutableBufferPointer(start: temps.full, count: batch * seqLen * c),
                                                                   group: tensor)
                full = UnsafePointer(temps.full)
            }
            ids.withUnsafeBufferPointer {
                VocabParallelEmbedding.backward(weightGradient: gradients.base + layout.wte!, outputGradient: full,
                                                ids: $0.baseAddress!, count: batch * seqLen, width: c, shard: layout.vocab)
            }
            gradientsReady?(0)
        } else {
            inputGradient!.update(from: dres, count: n * c)
        }
    }
}

/// The activations one chunk keeps for one micro-batch between its forward and its backward.
public final class ChunkActivations {
    /// Which chunk of the stage, and its layers.
    public let chunk: Int, layers: Range<Int>
    /// The chunk's input `[B·T, C]` (embedding output on the first virtual stage).
    let encoded: FloatBuffer
    /// Saved tensors of the blocks that keep theirs.
    let blocks: [Int: TensorParallelBlockActivations]
    /// Inputs of blocks whose predecessor is recomputed in full (its output is not kept).
    let savedInputs: [Int: FloatBuffer]
    /// Final LayerNorm, logits and loss (last virtual stage only).
    let head: HeadActivations?
    /// ∂L/∂(residual stream), walked down through the blocks.
    let dresidual: FloatBuffer

    init(shard: ModelShard, chunk: Int) {
        let c = shard.config, n = shard.rows, tp = shard.layout.tensorParallel
        self.chunk = chunk
        layers = shard.layout.chunkLayers[chunk]
        encoded = FloatBuffer(count: n * c.nEmbd)
        dresidual = FloatBuffer(count: n * c.nEmbd)
        var blocks: [Int: TensorParallelBlockActivations] = [:], saved: [Int: FloatBuffer] = [:]
        for l in layers {
            if !shard.recompute.recomputesBlock(l) {
                blocks[l] = TensorParallelBlockActivations(batch: shard.batch, seqLen: shard.seqLen, channels: c.nEmbd, heads: c.nHead,
                                                           tensorParallel: tp, keepProbabilities: shard.recompute.keepsProbabilities,
                                                           sequenceParallel: shard.sequenceParallel, temps: shard.temps)
            }
            if l > layers.lowerBound && shard.recompute.recomputesBlock(l - 1) { saved[l] = FloatBuffer(count: n * c.nEmbd) }
        }
        self.blocks = blocks; savedInputs = saved
        head = shard.layout.isLast(chunk: chunk) ? HeadActivations(shard: shard) : nil
    }

    /// The input of layer `l`, the `index`-th of the chunk.
    func input(of l: Int, index: Int) -> UnsafePointer<Float> {
        if index == 0 { return UnsafePointer(encoded.base) }
        if let s = savedInputs[l] { return UnsafePointer(s.base) }
        return UnsafePointer(blocks[l - 1]!.res2)
    }

    /// Bytes held by this set.
    public var bytes: Int {
        (encoded.count + dresidual.count) * 4 + blocks.values.map(\.bytes).reduce(0, +)
            + savedInputs.values.map { $0.count * 4 }.reduce(0, +) + (head?.bytes ?? 0)
    }
}

/// Final LayerNorm, the tied vocab-parallel `lm_head` and the loss of one micro-batch.
final class HeadActivations {
    let buffer: FloatBuffer
    let input, lnf, mean, rstd, logits, losses, lse, dln: UnsafeMutablePointer<Float>
    var count = 0

    init(shard: ModelShard) {
        let n = shard.batch * shard.seqLen, rows = shard.rows, c = shard.config.nEmbd, v = shard.layout.vocab.count
        let sizes = [rows * c, n * c, rows, rows, n * v, n, n, n * c]
        buffer = FloatBuffer(count: sizes.map(round16).reduce(0, +))
        var cursor = buffer.base
        let p = sizes.map { k -> UnsafeMutablePointer<Float> in defer { cursor += round16(k) }; return cursor }
        input = p[0]; lnf = p[1]; mean = p[2]; rstd = p[3]; logits = p[4]; losses = p[5]; lse = p[6]; dln = p[7]
    }

    var bytes: Int { buffer.count * 4 }

    func forward(_ x: UnsafePointer<Float>, shard s: ModelShard, targets: [Int32]) throws(CommError) -> (sum: Double, count: Int) {
        let n = s.batch * s.seqLen, c = s.config.nEmbd, vs = s.layout.vocab.count, p = s.parameters.base, L = s.layout
        // Kept: the last block's output may live in the recompute scratch.
        input.update(from: x, count: s.rows * c)
        LayerNorm.forward(output: lnf + s.firstRow * c, mean: mean, rstd: rstd, input: input, weight: p + L.lnf!, bias: p + L.lnf! + c,
                          rows: s.rows, channels: c, eps: s.config.layerNormEpsilon, pool: s.pool)
        if s.sequenceParallel {
            // GatherFromSequenceParallelRegion in place: the rows were written at this rank's block.
            try s.tensor.allGather(inPlace: UnsafeMutableBufferPointer(start: lnf, count: n * c))
        } else {
            CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: lnf, count: n * c), group: s.tensor)
        }
        gemm(transB: true, m: n, n: vs, k: c, a: lnf, lda: c, b: p + L.wte!, ldb: c, beta: 0, c: logits, ldc: vs, pool: s.pool)
        let (sum, count) = try targets.withUnsafeBufferPointer { (tg) throws(CommError) in
            try VocabParallelCrossEntropy.forward(losses: losses, logSumExp: lse, logits: logits, targets: tg.baseAddress!,
                                                  rows: n, shard: L.vocab, stride: vs, group: s.tensor, pool: s.pool)
        }
        self.count = count
        return (sum, count)
    }

    func backward(into dres: UnsafeMutablePointer<Float>, shard s: ModelShard, targets: [Int32], lossScale: Float) throws(CommError) {
        let n = s.batch * s.seqLen, c = s.config.nEmbd, vs = s.layout.vocab.count, L = s.layout
        let p = s.parameters.base, g = s.gradients.base
        let scale = count > 0 ? lossScale / Float(count) : 0
        targets.withUnsafeBufferPointer {
            VocabParallelCrossEntropy.backward(logits: logits, logSumExp: lse, targets: $0.baseAddress!, rows: n,
                                               shard: L.vocab, stride: vs, scale: scale, pool: s.pool)
        }
        gemm(transA: true, m: vs, n: c, k: n, a: logits, lda: vs, b: lnf, ldb: c, beta: 1, c: g + L.wte!, ldc: c, pool: s.pool)
        gemm(m: n, n: c, k: vs, a: logits, lda: vs, b: p + L.wte!, ldb: c, beta: 0, c: dln, ldc: c, pool: s.pool)
        var drows = UnsafePointer(dln)
        if s.sequenceParallel {
            try GatherFromSequenceParallelRegion.backward(UnsafeBufferPointer(start: dln, count: n * c),
                                                          into: UnsafeMutableBufferPointer(start: s.temps.dlnRows, count: s.rows * c),
                                                          group: s.tensor)
            drows = UnsafePointer(s.temps.dlnRows)
        } else {
            try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: dln, count: n * c), group: s.tensor)
        }
        dres.update(repeating: 0, count: s.rows * c)
        LayerNorm.backward(dinput: dres, dweight: g + L.lnf!, dbias: g + L.lnf! + c, doutput: drows, input: input,
                           weight: p + L.lnf!, mean: mean, rstd: rstd, rows: s.rows, channels: c, scratch: s.lnScratch.base,
                           pool: s.pool)
    }
}
