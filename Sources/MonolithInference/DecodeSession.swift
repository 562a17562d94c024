import MonolithKernels
import MonolithModel

/// Incremental decoding with a KV cache: a prompt is processed once (`prefill`), then each new
/// token costs one pass over the weights (`decode`), which is what bounds generation speed.
///
/// Sequences live in cache slots with lengths of their own: any subset of slots decodes together,
/// each at its own position, and a prompt prefix computed once can be copied to other slots
/// (``KVCache/copyPrefix(from:to:count:)``) and extended (``extend(slot:with:)``).
///
/// ```swift
/// let session = try DecodeSession(model: model, slots: 2)
/// _ = try session.prefill(slot: 0, prompt)                   // [V] for the last prompt position
/// try session.cache.copyPrefix(from: 0, to: 1, count: prompt.count)
/// let logits = try session.decode(slots: [0, 1], tokens: [a, b])   // [2, V]
/// ```
///
/// Both passes run ``TransformerLayer``: prefill its training forward (through ``GPT``), decode
/// its KV-cache specialisation.
public final class DecodeSession {
    /// The model (its weights are read, never written).
    public let model: GPT
    /// Cached keys and values.
    public let cache: KVCache
    let scratch: DecodeScratch
    let x, ln, lnMean, lnRstd, logits: FloatBuffer
    let layer: TransformerLayer
    /// bf16 copies of the matrices, when decoding reads bf16 weights.
    let packed: [PackedBlockWeights]?
    let packedEmbedding: BF16Matrix?

    /// A session with `slots` sequences of up to `capacity` positions (default: the context length).
    ///
    /// With `bf16Weights`, decode steps read bf16 copies of the matrices (half the memory traffic);
    /// round the model first (``GPT/roundWeightsToBF16()``) so prefill sees the same weights.
    /// Needs `n_embd` and the qkv and MLP widths to be multiples of 32.
    public init(model: GPT, slots: Int = 1, capacity: Int? = nil, bf16Weights: Bool = false) throws {
        self.model = model
        let c = model.config.nEmbd, pool = model.pool
        guard slots > 0 else { throw ModelInputError("a decode session needs at least one slot, got \(slots)") }
        if bf16Weights {
            let widths = [c, model.config.qkvWidth, model.config.fcWidth]
            guard widths.allSatisfy({ BF16Matrix.canPack(cols: $0) }) else {
                throw ModelInputError("bf16 decoding needs n_embd, the qkv width and the MLP width to be multiples of 32 (they are \(widths)); use fp32 weights")
            }
            packed = (0..<model.config.nLayer).map { PackedBlockWeights(model.blockWeights($0), config: model.config, pool: pool) }
            packedEmbedding = BF16Matrix(model.parameters.base + model.layout.lmHead, rows: model.config.vocabSize, cols: c, ld: c, pool: pool)
        } else {
            packed = nil; packedEmbedding = nil
        }
        cache = KVCache(config: model.config, slots: slots, capacity: capacity)
        layer = TransformerLayer(config: model.config, group: SingleRankCommunicator())
        scratch = DecodeScratch(rows: slots, config: model.config, capacity: cache.capacity, pool: pool)
        x = FloatBuffer(count: slots * c); ln = FloatBuffer(count: slots * c)
        lnMean = FloatBuffer(count: slots); lnRstd = FloatBuffer(count: slots)
        logits = FloatBuffer(count: slots * model.config.vocabSize)
    }

    /// Runs the prompts of every slot (`[slots, T]`, row-major, one length for all) through the
    /// model, fills the cache, and returns the logits of each slot's last position (`[slots, V]`).
    public func prefill(_ ids: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let b = cache.slots, t = ids.count / b
        guard ids.count == b * t, t > 0 else { throw ModelInputError("prompt must hold slots × length ids (\(b) × T), got \(ids.count)") }
        return try run(ids, slots: Array(0..<b), length: t)
    }

    /// Runs `prompt` in slot `slot` from position 0 (forgetting what the slot held) and returns
    /// the logits of its last position (`[V]`).
    public func prefill(slot: Int, _ prompt: [Int32]) throws -> UnsafeBufferPointer<Float> {
        try checkSlot(slot)
        guard !prompt.isEmpty else { throw ModelInputError("the prompt is empty") }
        return try run(prompt, slots: [slot], length: prompt.count)
    }

    /// Appends `tokens` to slot `slot` after what it already holds (for example a prefix copied
    /// from another slot), one decode step per token; returns the logits after the last (`[V]`).
    public func extend(slot: Int, with tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        guard !tokens.isEmpty else { throw ModelInputError("extend needs at least one token") }
        var out: UnsafeBufferPointer<Float>? = nil
        for t in tokens { out = try decode(slots: [slot], tokens: [t]) }
        return out!
    }

    /// Prefill through the model's forward; each block's keys and values are copied out of its qkv.
    func run(_ ids: [Int32], slots: [Int], length t: Int) throws -> UnsafeBufferPointer<Float> {
        guard t <= cache.capacity else {
            throw ModelInputError("prompt of \(t) tokens is longer than the context (\(cache.capacity)); shorten it or use truncation")
        }
        let c = model.config.nEmbd, kv = model.config.kvWidth, ld = model.config.qkvWidth
        let v = model.config.vocabSize, cap = cache.capacity
        try ids.withUnsafeBufferPointer {
            try model.forward(ids: $0.baseAddress!, batch: slots.count, seqLen: t, lastPositionOnly: true) { l, a in
                let keys = self.cache.keys(l), values = self.cache.values(l)
                for (i, slot) in slots.enumerated() {
                    for pos in 0..<t {
                        // Rows are [q | k | v]; the keys are already rotated (Llama).
                        let row = a.qkv + (i * t + pos) * ld, dst = (slot * cap + pos) * kv
                        (keys + dst).update(from: row + c, count: kv)
                        (values + dst).update(from: row + c + kv, count: kv)
                    }
                }
            }
        }
        for slot in slots { cache.lengths[slot] = t }
        logits.base.update(from: model.logits, count: slots.count * v)
        return UnsafeBufferPointer(start: logits.base, count: slots.count * v)
    }

    /// Appends one token to every slot, in lock-step, and returns the next-token logits
    /// (`[slots, V]`).
    public func decode(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        try decode(slots: Array(0..<cache.slots), tokens: tokens)
    }

    /// Appends `tokens[i]` to slot `slots[i]` at that slot's own position and returns the
    /// next-token logits, one row per listed slot (`[R, V]`).
    public func decode(slots: [Int], tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let cfg = model.config, b = slots.count, c = cfg.nEmbd, v = cfg.vocabSize, pool = model.pool
        guard tokens.count == b, b > 0 else { throw ModelInputError("decode needs one token per listed slot (\(b)), got \(tokens.count)") }
        guard Set(slots).count == b else { throw ModelInputError("decode lists a slot twice: \(slots)") }
        for s in slots {
            try checkSlot(s)
            guard cache.lengths[s] < cache.capacity else { throw ModelInputError("slot \(s): the context is full (\(cache.capacity) tokens)") }
        }
        for tok in tokens where tok < 0 || Int(tok) >= v { throw ModelInputError("token id \(tok) is outside the vocabulary 0..<\(v)") }
        let positions = slots.map { cache.lengths[$0] }
        let p = model.parameters.base, layout = model.layout
        for (i, tok) in tokens.enumerated() {
            if let wpe = layout.wpe {
                Residual.add(output: x.base + i * c, p + layout.wte + Int(tok) * c, p + wpe + positions[i] * c, count: c, pool: .serial)
            } else {
                (x.base + i * c).update(from: p + layout.wte + Int(tok) * c, count: c)
            }
        }
        for l in 0..<cfg.nLayer {
            layer.decode(x.base, w: model.blockWeights(l), packed: packed?[l], cache: cache.view(l), slots: slots, positions: positions,
                         scratch: scratch, pool: pool)
        }
        layer.normalize(output: ln.base, mean: lnMean.base, rstd: lnRstd.base, input: x.base, weight: p + layout.lnfW,
                        bias: layout.lnfB.map { p + $0 }, rows: b, pool: pool)
        if let packedEmbedding, b <= 4 {
            packedEmbedding.rowsTimesTransposed(y: logits.base, x: ln.base, rows: b, pool: pool)
        } else if b <= 4 {
            Gemv.rowsTimesMatrixTransposed(y: logits.base, x: ln.base, m: p + layout.lmHead, rows: b, mRows: v, k: c, pool: pool)
        } else {
            gemm(transB: true, m: b, n: v, k: c, a: ln.base, lda: c, b: p + layout.lmHead, ldb: c, beta: 0,
                 c: logits.base, ldc: v, pool: pool)
        }
        for s in slots { cache.lengths[s] += 1 }
        return UnsafeBufferPointer(start: logits.base, count: b * v)
    }

    func checkSlot(_ s: Int) throws {
        guard (0..<cache.slots).contains(s) else { throw ModelInputError("slot \(s) is outside the session's slots 0..<\(cache.slots)") }
    }
}
