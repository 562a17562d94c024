import Foundation
import MonolithGGUF
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
    /// What each block's projections read.
    let blocks: [DecodeBlockWeights]
    /// The output projection, when not the model's fp32 `lm_head`.
    let head: Head
    /// Input embedding rows, when the model's fp32 `wte` is not loaded.
    let embedding: QuantizedMatrix?
    /// Most positions one step runs for ``append(slot:_:eachRow:)`` (and for every prefill with
    /// ``Weights/native``).
    public let promptChunk: Int
    /// Whether prefill goes through decode steps (native weights are not in the fp32 model).
    let prefillsThroughSteps: Bool
    /// Batch-invariant decoding: each row's logits are bit-identical whatever else decodes with
    /// it. fp32 and bf16 steps then run at most ``invariantRows`` rows at a time: up to there the
    /// products are GEMVs whose per-row sums do not depend on the row count, while the GEMM of
    /// more rows sums in another order. Native steps already are invariant (every quantized
    /// output is one row · one vector, and attention and norms work row by row).
    public var batchInvariant = false
    /// Rows per step in batch-invariant fp32/bf16 decoding: the largest count `Linear` and the
    /// heads still compute with their GEMV kernels (`Gemv`, `BF16Matrix`).
    public static let invariantRows = 4
    /// Rows attend one by one even in prompt chunks, so a row's result does not depend on how
    /// rows were grouped into steps (what continuous batching needs; prompts run a little slower).
    public var rowwiseAttention = false

    /// Which weights a session's steps read.
    public enum Weights {
        /// The model's fp32 tensors (exact).
        case fp32
        /// bf16 copies of the matrices for decode steps (half the memory traffic); round the model
        /// first (``GPT/roundWeightsToBF16()``) so prefill sees the same weights. Needs `n_embd` and
        /// the qkv and MLP widths to be multiples of 32.
        case bf16
        /// A GGUF file's quantized matrices with 8-bit activations, as llama.cpp computes
        /// (``NativeWeights``; the model from ``GPT/loadGGUFNative(file:pool:)``). Prompts run
        /// through the same quantized steps, `promptChunk` positions at a time.
        case native(NativeWeights)
    }

    enum Head { case fp32, bf16(BF16Matrix), quantized(QuantizedMatrix) }

    /// A session with `slots` sequences of up to `capacity` positions (default: the context
    /// length), reading `weights`.
    public init(model: GPT, slots: Int = 1, capacity: Int? = nil, weights: Weights = .fp32, promptChunk: Int = 64) throws {
        self.model = model
        let c = model.config.nEmbd, pool = model.pool
        guard slots > 0 else { throw ModelInputError("a decode session needs at least one slot, got \(slots)") }
        switch weights {
        case .fp32:
            blocks = Array(repeating: .fp32, count: model.config.nLayer); head = .fp32; embedding = nil
        case .bf16:
            let widths = [c, model.config.qkvWidth, model.config.fcWidth]
            guard widths.allSatisfy({ BF16Matrix.canPack(cols: $0) }) else {
                throw ModelInputError("bf16 decoding needs n_embd, the qkv width and the MLP width to be multiples of 32 (they are \(widths)); use fp32 weights")
            }
            blocks = (0..<model.config.nLayer).map { DecodeBlockWeights.bf16(model.blockWeights($0), config: model.config, pool: pool) }
            head = .bf16(BF16Matrix(model.parameters.base + model.layout.lmHead, rows: model.config.vocabSize, cols: c, ld: c, pool: pool))
            embedding = nil
        case .native(let native):
            guard native.blocks.count == model.config.nLayer else {
                throw ModelInputError("native weights have \(native.blocks.count) blocks, the model \(model.config.nLayer)")
            }
            blocks = native.blocks; head = native.head.map { .quantized($0) } ?? .fp32; embedding = native.embedding
        }
        guard promptChunk >= 1 else { throw ModelInputError("promptChunk must be at least 1, got \(promptChunk)") }
        // fp32 and bf16 prompts run the training forward; native ones go through decode steps.
        if case .native = weights { prefillsThroughSteps = true } else { prefillsThroughSteps = false }
        self.promptChunk = promptChunk
        // A mixed step (``step(slots:tokens:projecting:)``) holds a token per slot plus a prompt chunk.
        let rows = slots + promptChunk
        cache = KVCache(config: model.config, slots: slots, capacity: capacity)
        layer = TransformerLayer(config: model.config, group: SingleRankCommunicator())
        scratch = DecodeScratch(rows: rows, config: model.config, capacity: cache.capacity, pool: pool)
        x = FloatBuffer(count: rows * c); ln = FloatBuffer(count: rows * c)
        lnMean = FloatBuffer(count: rows); lnRstd = FloatBuffer(count: rows)
        logits = FloatBuffer(count: rows * model.config.vocabSize)
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
        // Native: chunks rather than single steps (the quantized products read each weight once per chunk).
        if prefillsThroughSteps { return try append(slot: slot, tokens[...]) }
        var out: UnsafeBufferPointer<Float>? = nil
        for t in tokens { out = try decode(slots: [slot], tokens: [t]) }
        return out!
    }

    /// Prefill through the model's forward; each block's keys and values are copied out of its qkv.
    func run(_ ids: [Int32], slots: [Int], length t: Int) throws -> UnsafeBufferPointer<Float> {
        guard t <= cache.capacity else {
            throw ModelInputError("prompt of \(t) tokens is longer than the context (\(cache.capacity)); shorten it or use truncation")
        }
        if prefillsThroughSteps {
            for (i, slot) in slots.enumerated() {
                cache.reset(slot: slot)
                let last = try runSteps(slot: slot, ids[(i * t)..<((i + 1) * t)]) { _, _ in }
                project(rows: 1, from: last - 1, into: logits.base + i * model.config.vocabSize)
            }
            return UnsafeBufferPointer(start: logits.base, count: slots.count * model.config.vocabSize)
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
        let b = slots.count
        guard tokens.count == b, b > 0 else { throw ModelInputError("decode needs one token per listed slot (\(b)), got \(tokens.count)") }
        guard Set(slots).count == b else { throw ModelInputError("decode lists a slot twice: \(slots)") }
        return try step(slots: slots, tokens: tokens, projecting: Array(0..<b))
    }

    /// One step over any mix of rows, as continuous batching runs them: `tokens[i]` is appended to
    /// `slots[i]`, and a slot may appear several times (consecutive positions of a prompt chunk,
    /// in order). Returns the logits of the rows listed in `projecting`, in that order (`[k, V]`).
    /// At most `slots + promptChunk` rows.
    public func step(slots: [Int], tokens: [Int32], projecting: [Int]) throws -> UnsafeBufferPointer<Float> {
        let b = slots.count, c = model.config.nEmbd, v = model.config.vocabSize
        guard b == tokens.count, b > 0, b <= scratch.rows else {
            throw ModelInputError("a step takes 1...\(scratch.rows) rows with one token each, got \(b) slots and \(tokens.count) tokens")
        }
        var next = [Int: Int](), positions = [Int]()
        for slot in slots {
            try checkSlot(slot)
            let p = next[slot] ?? cache.lengths[slot]
            guard p < cache.capacity else { throw ModelInputError("slot \(slot): the context is full (\(cache.capacity) tokens)") }
            positions.append(p); next[slot] = p + 1
        }
        for tok in tokens where tok < 0 || Int(tok) >= v { throw ModelInputError("token id \(tok) is outside the vocabulary 0..<\(v)") }
        guard projecting.allSatisfy({ (0..<b).contains($0) }), zip(projecting, projecting.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ModelInputError("projected rows must be increasing and in 0..<\(b)")
        }
        if batchInvariant && !prefillsThroughSteps && b > Self.invariantRows {
            // Groups of GEMV-sized steps, in order (a prompt row's key is written before a later group reads it).
            var out = 0
            for start in stride(from: 0, to: b, by: Self.invariantRows) {
                let end = min(b, start + Self.invariantRows)
                step(slots: Array(slots[start..<end]), positions: Array(positions[start..<end]), tokens: tokens[start..<end])
                var wanted = 0
                while out + wanted < projecting.count && projecting[out + wanted] < end {
                    let r = projecting[out + wanted] - start
                    if r != wanted { (ln.base + wanted * c).update(from: ln.base + r * c, count: c) }
                    wanted += 1
                }
                if wanted > 0 { project(rows: wanted, into: logits.base + out * v); out += wanted }
            }
        } else {
            step(slots: slots, positions: positions, tokens: tokens[...])
            // Gather the wanted final-norm rows to the front, then one projection.
            for (k, r) in projecting.enumerated() where k != r { (ln.base + k * c).update(from: ln.base + r * c, count: c) }
            if !projecting.isEmpty { project(rows: projecting.count, into: logits.base) }
        }
        for (slot, end) in next { cache.lengths[slot] = end }
        return UnsafeBufferPointer(start: logits.base, count: projecting.count * v)
    }

    /// Runs `tokens[i]` at `positions[i]` of `slots[i]` through every block (writing their keys and
    /// values) and leaves the final-norm rows in `ln`.
    func step(slots: [Int], positions: [Int], tokens: ArraySlice<Int32>) {
        let cfg = model.config, b = slots.count, c = cfg.nEmbd, pool = model.pool
        let p = model.parameters.base, layout = model.layout
        for (i, tok) in tokens.enumerated() {
            let row = x.base + i * c
            if let embedding { embedding.dequantizeRow(Int(tok), into: row) } else { row.update(from: p + layout.wte + Int(tok) * c, count: c) }
            if let wpe = layout.wpe { Residual.add(output: row, row, p + wpe + positions[i] * c, count: c, pool: .serial) }
        }
        for l in 0..<cfg.nLayer {
            layer.decode(x.base, w: model.blockWeights(l), weights: blocks[l], cache: cache.view(l), slots: slots, positions: positions,
                         scratch: scratch, chunkedAttention: !rowwiseAttention && !batchInvariant, pool: pool)
        }
        layer.normalize(output: ln.base, mean: lnMean.base, rstd: lnRstd.base, input: x.base, weight: p + layout.lnfW,
                        bias: layout.lnfB.map { p + $0 }, rows: b, pool: pool)
    }

    /// Appends `ids` to `slot` through decode steps of up to ``promptChunk`` positions each.
    /// After each step `each(start, rows)` sees the step's first position and row count, with
    /// its final-norm rows in `ln`. Returns the row count of the last step.
    @discardableResult
    func runSteps(slot: Int, _ ids: ArraySlice<Int32>, each: (_ start: Int, _ rows: Int) throws -> Void) throws -> Int {
        let v = model.config.vocabSize
        guard cache.lengths[slot] + ids.count <= cache.capacity else {
            throw ModelInputError("slot \(slot): \(cache.lengths[slot]) + \(ids.count) tokens exceed the context (\(cache.capacity))")
        }
        for tok in ids where tok < 0 || Int(tok) >= v { throw ModelInputError("token id \(tok) is outside the vocabulary 0..<\(v)") }
        var next = ids.startIndex, rows = 0
        while next < ids.endIndex {
            let start = cache.lengths[slot]
            rows = min(promptChunk, ids.endIndex - next)
            step(slots: Array(repeating: slot, count: rows), positions: Array(start..<(start + rows)), tokens: ids[next..<(next + rows)])
            cache.lengths[slot] += rows
            next += rows
            try each(start, rows)
        }
        return rows
    }

    /// Appends `tokens` to `slot` after what it holds, `promptChunk`-or-fewer positions per step
    /// (a prompt admitted piece by piece between other sequences' decode steps), and returns the
    /// logits after the last token (`[V]`). With `eachRow`, every position's logits are computed
    /// and shown as `(position, logits)` (prompt log-probabilities); otherwise only the last row's.
    public func append(slot: Int, _ tokens: ArraySlice<Int32>,
                       eachRow: ((Int, UnsafeBufferPointer<Float>) throws -> Void)? = nil) throws -> UnsafeBufferPointer<Float> {
        try checkSlot(slot)
        guard !tokens.isEmpty else { throw ModelInputError("append needs at least one token") }
        let v = model.config.vocabSize
        let last = try runSteps(slot: slot, tokens) { start, rows in
            guard let eachRow else { return }
            project(rows: rows, into: logits.base)
            for r in 0..<rows { try eachRow(start + r, UnsafeBufferPointer(start: logits.base + r * v, count: v)) }
        }
        if eachRow == nil { project(rows: 1, from: last - 1, into: logits.base) } else {
            logits.base.update(from: logits.base + (last - 1) * v, count: v)
        }
        return UnsafeBufferPointer(start: logits.base, count: v)
    }

    /// Runs `ids` in `slot` from position 0 and returns, for each position `i` with
    /// `targets[i] ≥ 0`, the log-probability the model gives `targets[i]` as the next token (0
    /// elsewhere): a prompt's scores through the session's own weights (``Weights/native``
    /// included), as `llama-perplexity` computes them.
    public func targetLogProbabilities(slot: Int, _ ids: [Int32], targets: [Int32]) throws -> [Double] {
        try checkSlot(slot)
        guard ids.count == targets.count, !ids.isEmpty else {
            throw ModelInputError("need one target per id (\(ids.count) ids, \(targets.count) targets)")
        }
        let v = model.config.vocabSize
        var out = [Double](repeating: 0, count: ids.count)
        cache.reset(slot: slot)
        try runSteps(slot: slot, ids[...]) { start, rows in
            let wanted = (0..<rows).filter { targets[start + $0] >= 0 }
            guard let first = wanted.first, let last = wanted.last else { return }
            project(rows: last - first + 1, from: first, into: logits.base)
            for r in wanted {
                let row = UnsafeBufferPointer(start: logits.base + (r - first) * v, count: v)
                let m = Double(row.max()!)
                let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
                out[start + r] = Double(row[Int(targets[start + r])]) - lse
            }
        }
        return out
    }

    /// `out = ln[first ..< first + rows] · lm_headᵀ` (`[rows, V]`).
    func project(rows b: Int, from first: Int = 0, into out: UnsafeMutablePointer<Float>) {
        let cfg = model.config, c = cfg.nEmbd, v = cfg.vocabSize, pool = model.pool
        let input = ln.base + first * c, w = model.parameters.base + model.layout.lmHead
        switch head {
        case .quantized(let m):
            m.multiply(input, rows: b, into: out, ldy: v, accumulate: false, scratch: scratch.quantized, pool: pool)
        case .bf16(let m) where b <= 4:
            m.rowsTimesTransposed(y: out, x: input, rows: b, pool: pool)
        case _ where b <= 4:
            Gemv.rowsTimesMatrixTransposed(y: out, x: input, m: w, rows: b, mRows: v, k: c, pool: pool)
        default:
            gemm(transB: true, m: b, n: v, k: c, a: input, lda: c, b: w, ldb: c, beta: 0, c: out, ldc: v, pool: pool)
        }
    }

    func checkSlot(_ s: Int) throws {
        guard (0..<cache.slots).contains(s) else { throw ModelInputError("slot \(s) is outside the session's slots 0..<\(cache.slots)") }
    }
}
