
/// Which parameters one (tensor rank, pipeline stage) owns, where they sit in its own flat buffer,
/// and how each maps to the full Hugging Face layout (``ParameterLayout``).
///
/// A rank's flat buffer holds, in order: on the first stage the vocab-parallel token embedding
/// `[V_pad/tp, C]` and the positions `[T_max, C]`, then the blocks of its chunks (local Megatron
/// shapes, see ``BlockOffsets/counts(_:tensorParallel:)``), and on the last stage the final norm and —
/// when `pp > 1` — its own copy of the tied token embedding for the `lm_head`. Parameters,
/// gradients and both Adam moments all use this one layout, so AdamW, the gradient norm and the
/// ZeRO collectives work on the local buffers exactly as on a whole model's.
///
/// Each tensor's elements appear in exactly one place on the *canonical* rank: tensors replicated
/// over the tensor group (LayerNorms, row-parallel biases, positions) are canonical on tensor rank
/// 0, the tied embedding on the first stage. Summing the canonical spans of every rank of a model
/// replica therefore assembles the full model (``scatter(_:into:)``) and counts each element once
/// in the global gradient norm.
public struct ShardLayout: Sendable {
    /// A contiguous run shared by the full and the local buffers.
    public struct Span: Sendable, Equatable {
        /// Offsets in the full and local flat buffers, and the run's length.
        public let full: Int, local: Int, count: Int
    }

    /// One local tensor.
    public struct Entry: Sendable {
        /// Hugging Face name of the full tensor.
        public let name: String
        /// Where it sits in the local buffer.
        public let range: Range<Int>
        /// How its elements map to the full tensor (padding rows of the embedding have none).
        public let spans: [Span]
        /// Weight decay applies (the full tensor is 2-D).
        public let decay: Bool
        /// This rank holds the canonical copy (see the type's discussion).
        public let canonical: Bool
        /// Every tensor rank holds the whole tensor (LayerNorms, row-parallel biases, positions):
        /// with sequence parallelism their gradients are partial and summed over the tensor group.
        public let replicated: Bool
    }

    /// The full model.
    public let config: GPTConfig
    /// Tensor-parallel size and rank, pipeline stages and stage, chunks per stage.
    public let tensorParallel: Int, tensorRank: Int, stages: Int, stage: Int, virtualStages: Int
    /// This rank's vocabulary rows.
    public let vocab: VocabShard
    /// Layers of each chunk (`virtualStages` of them), in order.
    public let chunkLayers: [Range<Int>]
    /// Local offsets of each owned layer's block tensors, by global layer index.
    public let blocks: [Int: BlockOffsets]
    /// Local offsets of the token embedding (first stage, and last when pp > 1 and tied), positions
    /// (first stage, GPT-2), the final norm's weight and bias (last stage; no bias for Llama), and
    /// the `lm_head` the last stage multiplies by (the embedding when tied, else `lm_head.weight`).
    public let wte: Int?, wpe: Int?, lnf: Int?, lnfBias: Int?, lmHead: Int?
    /// Every local tensor.
    public let entries: [Entry]
    /// Floats in the local buffer.
    public let count: Int

    /// Layout of tensor rank `tensorRank` of `tensorParallel` on stage `stage` of `stages`, with
    /// `virtualStages` chunks per stage.
    public init(config: GPTConfig, tensorParallel tp: Int, tensorRank r: Int, stages pp: Int, stage s: Int, virtualStages v: Int = 1) {
        precondition(config.nHead % tp == 0 && config.kvHeads % tp == 0 && config.nLayer % (pp * v) == 0,
                     "the layout does not divide the model")
        self.config = config; tensorParallel = tp; tensorRank = r; stages = pp; stage = s; virtualStages = v
        let vocab = VocabShard(vocabulary: config.vocabSize, tensorParallel: tp, rank: r)
        self.vocab = vocab
        let full = ParameterLayout(config: config)
        let chunkLayers = (0..<v).map { Self.layers(stage: s, chunk: $0, stages: pp, virtualStages: v, layerCount: config.nLayer) }
        self.chunkLayers = chunkLayers
        let c = config.nEmbd, q = c / tp, kv = config.kvWidth / tp, hl = config.intermediateSize / tp
        let replicatedCanonical = r == 0
        var entries: [Entry] = [], cursor = 0, blocks: [Int: BlockOffsets] = [:]
        func add(_ name: String, _ count: Int, _ spans: [Span], canonical: Bool, replicated: Bool = false) {
            let spec = full.spec(named: name)!
            entries.append(Entry(name: name, range: cursor..<(cursor + count), spans: Self.merged(spans), decay: spec.decay,
                                 canonical: canonical, replicated: replicated))
            cursor += count
        }
        // Backward finishes the head first and the embeddings last, so this order (embeddings,
        // blocks, head) makes every finished part a suffix of the buffer: what bucketed
        // data-parallel reduction needs to start early.
        let first = s == 0, last = s == pp - 1
        func vocabRows(_ name: String, fullOffset: Int, canonical: Bool) -> Int {
            let at = cursor
            add(name, vocab.count * c, [Span(full: fullOffset + vocab.range.lowerBound * c, local: at, count: vocab.realCount * c)],
                canonical: canonical)
            return at
        }
        let embeddingName = full.tensors[0].name
        var wte: Int? = nil, wpe: Int? = nil, lnf: Int? = nil, lnfBias: Int? = nil, lmHead: Int? = nil
        if first {
            wte = vocabRows(embeddingName, fullOffset: full.wte, canonical: true)
            if let fullWpe = full.wpe {
                wpe = cursor
                add(full.tensors[1].name, config.contextLength * c, [Span(full: fullWpe, local: cursor, count: config.contextLength * c)],
                    canonical: replicatedCanonical, replicated: true)
            }
        }
        // Column-parallel matmuls take, per input row, this rank's columns of each segment: q, k
        // and v heads of the qkv projection; gate and up (Llama) or the one `4C` block (GPT-2) of
        // the first MLP projection. Segments are (full column, local column, width).
        let qkvSegments = [(r * q, 0, q), (c + r * kv, q, kv), (c + config.kvWidth + r * kv, q + kv, kv)]
        let fcSegments = config.isLlama ? [(r * hl, 0, hl), (config.intermediateSize + r * hl, hl, hl)] : [(r * hl, 0, hl)]
        func columns(_ segments: [(Int, Int, Int)], full fullBase: Int, fullWidth: Int, local localBase: Int, rows: Int) -> [Span] {
            let localWidth = segments.map(\.2).reduce(0, +)
            return (0..<rows).flatMap { i in
                segments.map { Span(full: fullBase + i * fullWidth + $0.0, local: localBase + i * localWidth + $0.1, count: $0.2) }
            }
        }
        let slots = ParameterLayout.blockSlots(config).map { $0?.name }
        let counts = BlockOffsets.counts(config, tensorParallel: tp)
        for l in chunkLayers.flatMap({ Array($0) }) {
            let f = full.blocks[l], p = ParameterLayout.blockPrefix(config, layer: l)
            let o = BlockOffsets(packedFrom: cursor, counts: counts)
            blocks[l] = o
            func replicated(_ slot: Int, _ fo: Int?, _ lo: Int?) {
                guard let name = slots[slot], let fo, let lo else { return }
                add(p + name, c, [Span(full: fo, local: lo, count: c)], canonical: replicatedCanonical, replicated: true)
            }
            replicated(0, f.ln1w, o.ln1w)
            replicated(1, f.ln1b, o.ln1b)
            add(p + slots[2]!, counts[2], columns(qkvSegments, full: f.qkvw, fullWidth: config.qkvWidth, local: o.qkvw, rows: c),
                canonical: true)
            if let fb = f.qkvb, let lb = o.qkvb {
                add(p + slots[3]!, counts[3], columns(qkvSegments, full: fb, fullWidth: config.qkvWidth, local: lb, rows: 1), canonical: true)
            }
            // Row-parallel: a block of input rows.
            add(p + slots[4]!, q * c, [Span(full: f.attnProjW + r * q * c, local: o.attnProjW, count: q * c)], canonical: true)
            replicated(5, f.attnProjB, o.attnProjB)
            replicated(6, f.ln2w, o.ln2w)
            replicated(7, f.ln2b, o.ln2b)
            add(p + slots[8]!, counts[8], columns(fcSegments, full: f.fcW, fullWidth: config.fcWidth, local: o.fcW, rows: c),
                canonical: true)
            if let fb = f.fcB, let lb = o.fcB {
                add(p + slots[9]!, counts[9], columns(fcSegments, full: fb, fullWidth: config.fcWidth, local: lb, rows: 1), canonical: true)
            }
            add(p + slots[10]!, hl * c, [Span(full: f.fcProjW + r * hl * c, local: o.fcProjW, count: hl * c)], canonical: true)
            replicated(11, f.fcProjB, o.fcProjB)
        }
        self.blocks = blocks
        if last {
            lnf = cursor
            add(full.tensors.first { $0.offset == full.lnfW }!.name, c, [Span(full: full.lnfW, local: cursor, count: c)],
                canonical: replicatedCanonical, replicated: true)
            if let fullBias = full.lnfB {
                lnfBias = cursor
                add(full.tensors.first { $0.offset == fullBias }!.name, c, [Span(full: fullBias, local: cursor, count: c)],
                    canonical: replicatedCanonical, replicated: true)
            }
            if !config.tiedHead {
                lmHead = vocabRows("lm_head.weight", fullOffset: full.lmHead, canonical: true)
            } else if first {
                lmHead = wte
            } else {
                // The lm_head's copy of the tied embedding; kept equal to the first stage's by
                // summing their gradients over the embedding group.
                wte = vocabRows(embeddingName, fullOffset: full.wte, canonical: false)
                lmHead = wte
            }
        }
        self.wte = wte; self.wpe = wpe; self.lnf = lnf; self.lnfBias = lnfBias; self.lmHead = lmHead
        self.entries = entries
        count = cursor
    }

    /// The layers of chunk `chunk` on pipeline stage `stage`: virtual stage `chunk · pp + stage`
    /// holds an equal, contiguous run (Megatron's interleaved assignment; `v = 1` is plain 1F1B).
    public static func layers(stage: Int, chunk: Int, stages pp: Int, virtualStages v: Int, layerCount: Int) -> Range<Int> {
        let per = layerCount / (pp * v)
        let virtualStage = chunk * pp + stage
        return (virtualStage * per)..<((virtualStage + 1) * per)
    }

    /// Whether this rank runs the first virtual stage (embeddings) of chunk `chunk`.
    public func isFirst(chunk: Int) -> Bool { stage == 0 && chunk == 0 }
    /// Whether chunk `chunk` is the last virtual stage (final LayerNorm, `lm_head`, loss).
    public func isLast(chunk: Int) -> Bool { stage == stages - 1 && chunk == virtualStages - 1 }

    /// Weight-decay runs over the local buffer, for ``AdamW``.
    public var decayRuns: [(range: Range<Int>, decay: Bool)] { entries.map { ($0.range, $0.decay) } }

    /// Local ranges of the tensors every tensor rank holds whole.
    public var replicatedRanges: [Range<Int>] { entries.filter(\.replicated).map(\.range) }

    /// Local ranges of the canonical copies: the elements this rank counts in the gradient norm.
    public var canonicalRanges: [Range<Int>] { entries.filter(\.canonical).map(\.range) }

    /// The local range of the embedding copy that must be summed over the embedding group (the
    /// tied `wte` when this stage holds it and `pp > 1`).
    public var tiedEmbedding: Range<Int>? {
        guard stages > 1, config.tiedHead, let wte else { return nil }
        return wte..<(wte + vocab.count * config.nEmbd)
    }

    /// Copies this rank's elements of the full flat buffer `full` into `local` (embedding padding
    /// rows are zeroed).
    public func slice(_ full: UnsafePointer<Float>, into local: UnsafeMutablePointer<Float>) {
        for e in entries {
            (local + e.range.lowerBound).update(repeating: 0, count: e.range.count)
            for s in e.spans { (local + s.local).update(from: full + s.full, count: s.count) }
        }
    }

    /// Adds the canonical elements of `local` into their places in `full`; summing this over every
    /// rank of a replica (all-reduce over the model-parallel group) yields the full buffer.
    public func scatter(_ local: UnsafePointer<Float>, into full: UnsafeMutablePointer<Float>) {
        for e in entries where e.canonical {
            for s in e.spans {
                let dst = full + s.full, src = local + s.local
                for j in 0..<s.count { dst[j] += src[j] }
            }
        }
    }

    /// This rank's canonical elements of `local` in a full-layout array (zero elsewhere): with one
    /// rank, the whole model's parameters (or gradients, or moments) in Hugging Face order.
    public func fullLayout(_ local: UnsafePointer<Float>) -> [Float] {
        var full = [Float](repeating: 0, count: ParameterLayout(config: config).count)
        full.withUnsafeMutableBufferPointer { scatter(local, into: $0.baseAddress!) }
        return full
    }

    /// Joins runs that are contiguous on both sides (with tp = 1 every tensor becomes one span).
    static func merged(_ spans: [Span]) -> [Span] {
        var out: [Span] = []
        for s in spans where s.count > 0 {
            if let p = out.last, p.full + p.count == s.full, p.local + p.count == s.local {
                out[out.count - 1] = Span(full: p.full, local: p.local, count: p.count + s.count)
            } else {
                out.append(s)
            }
        }
        return out
    }
}
