import MonolithInference
import MonolithKernels
import MonolithModel

/// Scores requests with a Monolith ``GPT`` through a ``DecodeSession``, computing each document's
/// shared prefix once (or, for documents whose choices share little, with batched full forward
/// passes: ``prefersFullForward(_:prefix:)``).
///
/// For one document (a group of requests): the longest token prefix its requests share, up to
/// the first scored position, is prefilled once into one cache slot and copied to the others
/// (``KVCache/copyPrefix(from:to:count:)``); the prefill's last logits score the first
/// continuation token of every request. The rest of each request is decoded one token per step,
/// all rows of a batch of documents in lock-step, each at its own position. Only scored positions
/// reach the vocabulary projection. Documents are sorted by decode length and then by total
/// length, so a batch's rows finish together ("batch by length").
///
/// ```swift
/// let scorer = GPTScorer(model: gpt, batchSize: 64)
/// let scores = try scorer.score([[request]]) { _ in }   // [[TokenScore]]
/// ```
public final class GPTScorer: LoglikelihoodModel {
    /// The model.
    public let model: GPT
    /// Rows (requests) decoded together.
    public let batchSize: Int
    /// Most bytes of keys and values to hold at once (fewer rows per batch when exceeded).
    public var cacheBudget = 2 << 30
    /// Most bytes of logits a full forward batch may produce (`[rows, T, V]` floats).
    public var logitsBudget = 512 << 20
    /// The cost of a decoded position relative to a position of a batched forward pass, which
    /// decides each document's strategy (``prefersFullForward(_:prefix:)``); 0 decodes always.
    public var decodedPositionCost = 2
    var session: DecodeSession?
    var warmedPrefix = 0
    private var cachedFingerprint: String?

    /// A scorer decoding up to `batchSize` requests together.
    public init(model: GPT, batchSize: Int = 64) {
        self.model = model
        self.batchSize = max(1, batchSize)
    }

    public var maxLength: Int { model.config.contextLength }

    /// SHA-256 of the configuration and of a 64-bit-lane FNV-1a hash of every weight's bits.
    public var fingerprint: String {
        if let cachedFingerprint { return cachedFingerprint }
        let c = model.config
        var sha = SHA256()
        sha.update("gpt2 L\(c.nLayer) H\(c.nHead) C\(c.nEmbd) V\(c.vocabSize) T\(c.contextLength) eps\(c.layerNormEpsilon)")
        sha.update(WeightHash.lanes(model.parameters.base, count: model.parameters.count, pool: model.pool))
        let f = SHA256.hexString(sha.finalize())
        cachedFingerprint = f
        return f
    }

    /// One request's place in a batch.
    struct Row {
        let group: Int, index: Int, slot: Int
        let request: TokenizedRequest
        var next: Int
        var logLikelihood = 0.0
        var greedy = true
    }

    public func score(_ groups: [[TokenizedRequest]], progress: (Int) -> Void) throws -> [[TokenScore]] {
        var results = groups.map { [TokenScore?](repeating: nil, count: $0.count) }
        let work = groups.indices.filter { !groups[$0].isEmpty }
        guard !work.isEmpty else { return groups.map { _ in [] } }
        let prefixes = work.map { sharedPrefix(groups[$0]) }
        var prefixOf = [Int](repeating: 0, count: groups.count)
        for (k, g) in work.enumerated() { prefixOf[g] = prefixes[k] }
        // Documents whose rows share little go through full forward passes; the rest share
        // their prefix and decode.
        let forward = work.filter { prefersFullForward(groups[$0], prefix: prefixOf[$0]) }
        if !forward.isEmpty {
            var remaining = [Int](repeating: 0, count: groups.count)
            for g in forward { remaining[g] = groups[g].count }
            let longest = work.flatMap { groups[$0].map(\.inputCount) }.max()!
            try scoreByFullForward(forward.flatMap { g in groups[g].enumerated().map { (g, $0.offset, $0.element) } },
                                   longestInput: longest) { g, i, s in
                results[g][i] = s
                remaining[g] -= 1
                if remaining[g] == 0 { progress(1) }
            }
        }
        let forwardSet = Set(forward)
        let decode = work.filter { !forwardSet.contains($0) }
        guard !decode.isEmpty else { return results.map { $0.map { $0! } } }
        let steps = { (g: Int) in groups[g].map { $0.inputCount - prefixOf[g] }.max()! }
        let order = decode.sorted {
            let a = (steps($0), groups[$0].map(\.tokens.count).max()!), b = (steps($1), groups[$1].map(\.tokens.count).max()!)
            return a.0 != b.0 ? a.0 > b.0 : a.1 != b.1 ? a.1 > b.1 : $0 < $1
        }
        let capacity = decode.flatMap { groups[$0].map(\.inputCount) }.max()!
        // Keys and values take 2·L·capacity·C floats per slot: cap them at `cacheBudget` bytes
        // (GPT-2 124M at 1024 positions needs 75 MB a slot), but always fit one whole document.
        let c = model.config, bytesPerSlot = 2 * c.nLayer * min(capacity, c.contextLength) * c.nEmbd * MemoryLayout<Float>.size
        let affordable = max(1, cacheBudget / max(1, bytesPerSlot))
        let slots = max(min(batchSize, affordable), decode.map { groups[$0].count }.max()!)
        let session = try reserveSession(slots: slots, capacity: max(1, capacity))
        // The model's forward sizes its workspace by the longest input so far and reallocates
        // when one is longer; one prefill of the longest prefix first allocates it once.
        if let longest = decode.map({ prefixOf[$0] }).max(), longest > warmedPrefix {
            _ = try session.prefill(slot: 0, [Int32](repeating: 0, count: longest))
            warmedPrefix = longest
        }
        var start = 0
        while start < order.count {
            var end = start, rows = 0
            while end < order.count, end == start || rows + groups[order[end]].count <= slots {
                rows += groups[order[end]].count; end += 1
            }
            let batch = Array(order[start..<end])
            for row in try run(batch, groups: groups, prefixOf: prefixOf, session: session) {
                results[row.group][row.index] = TokenScore(logLikelihood: row.logLikelihood, isGreedy: row.greedy)
            }
            progress(batch.count)
            start = end
        }
        return results.map { $0.map { $0! } }
    }

    /// The prefix of the group's inputs computed once: the longest run of tokens every request
    /// shares, but no further than one past the earliest first scored position (the prefill's
    /// last logits are the only ones it returns).
    func sharedPrefix(_ group: [TokenizedRequest]) -> Int {
        var limit = group.map { $0.firstScored + 1 }.min()!
        limit = min(limit, group.map(\.inputCount).min()!)
        let first = group[0].tokens
        var p = 0
        while p < limit, group.allSatisfy({ $0.tokens[p] == first[p] }) { p += 1 }
        return p
    }

    func reserveSession(slots: Int, capacity: Int) throws -> DecodeSession {
        if let s = session, s.cache.slots >= slots, s.cache.capacity >= capacity { return s }
        session = nil
        let s = try DecodeSession(model: model, slots: slots, capacity: min(capacity, model.config.contextLength))
        session = s
        return s
    }

    /// Scores one batch of groups: prefill each group's prefix, then decode every row in lock-step.
    func run(_ batch: [Int], groups: [[TokenizedRequest]], prefixOf: [Int], session: DecodeSession) throws -> [Row] {
        let v = model.config.vocabSize
        var rows: [Row] = []
        var slot = 0
        for g in batch {
            let requests = groups[g], p = prefixOf[g], first = slot
            for (k, r) in requests.enumerated() { rows.append(Row(group: g, index: k, slot: first + k, request: r, next: p)) }
            if p > 0 {
                let logits = try session.prefill(slot: first, Array(requests[0].tokens[0..<p])).baseAddress!
                // The prefill's last position predicts token p of every request of the group;
                // it is scored for those whose continuation starts there.
                if requests.contains(where: { $0.firstScored == p - 1 }) {
                    let reduced = LogSoftmaxRow.reduce(logits, count: v)
                    for i in rows.indices.suffix(requests.count) where rows[i].request.firstScored == p - 1 {
                        let target = Int(rows[i].request.tokens[p])
                        rows[i].logLikelihood += Double(logits[target]) - reduced.logSumExp
                        rows[i].greedy = rows[i].greedy && reduced.argmax == target
                    }
                }
                for k in 1..<max(1, requests.count) { try session.cache.copyPrefix(from: first, to: first + k, count: p) }
            } else {
                for k in 0..<requests.count { session.cache.reset(slot: first + k) }
            }
            slot += requests.count
        }
        try decodeAll(&rows, session: session)
        return rows
    }

    /// Decodes every row to its last input token, one position per step, scoring positions from
    /// each row's first scored one on.
    func decodeAll(_ rows: inout [Row], session: DecodeSession) throws {
        let v = model.config.vocabSize
        while true {
            let active = rows.indices.filter { rows[$0].next < rows[$0].request.inputCount }
            if active.isEmpty { return }
            let logits = try session.decode(slots: active.map { rows[$0].slot }, tokens: active.map { rows[$0].request.tokens[rows[$0].next] })
            let base = logits.baseAddress!
            // Reduce the scored rows in parallel: each is a full pass over the vocabulary.
            let scored = active.enumerated().filter { rows[$0.element].next >= rows[$0.element].request.firstScored }
            var reduced = [(logSumExp: Double, argmax: Int)](repeating: (0, 0), count: scored.count)
            reduced.withUnsafeMutableBufferPointer { out in
                model.pool.parallelFor(scored.count) { range in
                    for k in range { out[k] = LogSoftmaxRow.reduce(base + scored[k].offset * v, count: v) }
                }
            }
            for (k, entry) in scored.enumerated() {
                let i = entry.element, row = base + entry.offset * v
                let target = Int(rows[i].request.tokens[rows[i].next + 1])
                rows[i].logLikelihood += Double(row[target]) - reduced[k].logSumExp
                rows[i].greedy = rows[i].greedy && reduced[k].argmax == target
            }
            for i in active { rows[i].next += 1 }
        }
    }
}
