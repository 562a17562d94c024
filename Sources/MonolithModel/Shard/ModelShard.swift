import MonolithKernels

/// What one rank of a model replica holds under tensor and pipeline parallelism: the parameters
/// and gradients of its (tensor rank, pipeline stage), in flat local buffers laid out by
/// ``ShardLayout``, and the forward and backward of each of its chunks.
///
/// Nothing full-sized lives here: blocks are Megatron-sliced over the tensor group
/// (``TransformerLayer`` on the tensor group), the token embedding and the tied `lm_head` are vocab-parallel
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
    /// The one block implementation, on this rank's tensor group.
    public let layer: TransformerLayer
    let temps: LayerTemporaries
    /// The shared set that fully recomputed blocks run in.
    let scratch: LayerActivations?

    /// The full model's shape.
    public var config: GPTConfig { layout.config }

    /// A zeroed shard; `bufferCount` pads the flat buffers (ZeRO's equal slots).
    public init(layout: ShardLayout, tensor: any Communicator, batch: Int, seqLen: Int, recompute: ActivationRecompute = .none,
                sequenceParallel: Bool = false, bufferCount: Int = 0, precision: Precision = .fp32, pool: WorkerPool = .shared) {
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
        layer = TransformerLayer(config: c, group: tensor, sequenceParallel: sequenceParallel, precision: precision)
        temps = LayerTemporaries(config: c, batch: batch, seqLen: seqLen, tensorParallel: layout.tensorParallel,
                                 probabilityScratch: !recompute.keepsProbabilities, pool: pool)
        let anyFull = layout.chunkLayers.joined().contains { recompute.recomputesBlock($0) }
        scratch = anyFull ? LayerActivations(config: c, batch: batch, seqLen: seqLen, tensorParallel: layout.tensorParallel,
                                             sequenceParallel: sequenceParallel, temps: temps) : nil
    }

    /// The whole model on one rank (tp = pp = 1): what a single process trains.
    public static func whole(config: GPTConfig, batch: Int, seqLen: Int, recompute: ActivationRecompute = .none,
                             precision: Precision = .fp32, pool: WorkerPool = .shared) -> ModelShard {
        ModelShard(layout: ShardLayout(config: config, tensorParallel: 1, tensorRank: 0, stages: 1, stage: 0),
                   tensor: SingleRankCommunicator(name: "tp group"), batch: batch, seqLen: seqLen, recompute: recompute,
                   precision: precision, pool: pool)
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
            try layer.forward(input: x, w: weights(l), a: a, temps: temps, dropout: dropoutSites(l, dropoutStep), pool: pool)
            x = UnsafePointer(a.res2)
        }
        guard let head = acts.head else {
            output!.update(from: x, count: n * c)
            return nil
        }
        return try head.forward(x, shard: self, targets: targets)
    }

    /// Token embedding summed over the vocabulary shards (all-reduced, or reduce-scattered to this
    /// rank's rows), plus the positions of those rows. One rank looks up whole rows directly.
    func embed(_ ids: [Int32], into out: UnsafeMutablePointer<Float>) throws(CommError) {
        let n = batch * seqLen, c = config.nEmbd, t = seqLen, p = parameters.base
        if tensor.size == 1 {
            ids.withUnsafeBufferPointer {
                Embedding.forward(output: out, ids: $0.baseAddress!, wte: p + layout.wte!, wpe: layout.wpe.map { p + $0 }, batch: batch,
                                  seqLen: t, channels: c, pool: pool)
            }
            return
        }
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
        guard let wpe = layout.wpe.map({ p + $0 }) else { return }
        let first = firstRow
        for r in 0..<rows { Residual.add(output: out + r * c, out + r * c, wpe + ((first + r) % t) * c, count: c, pool: .serial) }
    }

    /// The sites of block `l` for micro-batch `step`, seeded as ``GPT`` seeds them.
    func dropoutSites(_ l: Int, _ step: Int) -> TransformerLayer.DropoutSites {
        TransformerLayer.DropoutSites.layer(l, p: dropout, seed: dropoutSeed, step: step)
    }

    func embeddingDropout(_ step: Int) -> Dropout {
        TransformerLayer.DropoutSites.embedding(p: dropout, seed: dropoutSeed, step: step, layers: config.nLayer)
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
            let a: LayerActivations
            let sites = dropoutSites(l, dropoutStep)
            if let kept = acts.blocks[l] { a = kept } else {
                // Full recompute: the block's forward again, from its saved input, into the scratch.
                a = scratch!
                try layer.forward(input: input, w: weights(l), a: a, temps: temps, dropout: sites, pool: pool)
            }
            try layer.backward(dresidual: dres, input: input, w: weights(l), g: blockGradients(l), a: a, temps: temps,
                               dropout: sites, pool: pool)
            gradientsReady?(layout.blocks[l]!.ln1w)
        }
        if layout.isFirst(chunk: acts.chunk) {
            embeddingDropout(dropoutStep).apply(dres, count: n * c, offset: firstRow * c, pool: pool)
            try embeddingBackward(ids: ids, dresidual: dres)
            gradientsReady?(0)
        } else {
            inputGradient!.update(from: dres, count: n * c)
        }
    }

    /// Accumulates the embedding gradients from `dres` (∂L/∂embedding output, this rank's rows).
    /// The embedding sum's backward (ReduceFrom) is the identity: each rank adds its own rows.
    func embeddingBackward(ids: [Int32], dresidual dres: UnsafeMutablePointer<Float>) throws(CommError) {
        let n = rows, c = config.nEmbd, t = seqLen, g = gradients.base
        if tensor.size == 1 {
            ids.withUnsafeBufferPointer {
                Embedding.backward(dwte: g + layout.wte!, dwpe: layout.wpe.map { g + $0 }, doutput: dres, ids: $0.baseAddress!, batch: batch,
                                   seqLen: t, channels: c)
            }
            return
        }
        if let dwpe = layout.wpe.map({ g + $0 }) {
            let first = firstRow
            for r in 0..<n {
                let pos = (first + r) % t
                Residual.add(output: dwpe + pos * c, dwpe + pos * c, dres + r * c, count: c, pool: .serial)
            }
        }
        var full = UnsafePointer(dres)
        if sequenceParallel {
            try ReduceScatterToSequenceParallelRegion.backward(UnsafeBufferPointer(start: dres, count: n * c),
                                                               into: UnsafeMutableBufferPointer(start: temps.full, count: batch * seqLen * c),
                                                               group: tensor)
            full = UnsafePointer(temps.full)
        }
        ids.withUnsafeBufferPointer {
            VocabParallelEmbedding.backward(weightGradient: g + layout.wte!, outputGradient: full, ids: $0.baseAddress!,
                                            count: batch * seqLen, width: c, shard: layout.vocab)
        }
    }
}
