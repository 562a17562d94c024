import MonolithModel

extension GPTScorer {
    /// Whether `group` costs less as full forward passes over each `[context + continuation]`
    /// row (lm-eval's way) than as a shared prefill plus decode steps.
    ///
    /// A decode step scores one position per row but re-reads every weight and pays a small GEMM
    /// for the vocabulary projection; measured on the parity model (PIQA and HellaSwag zero-shot,
    /// one thread) a decoded position costs about twice a position of a batched forward pass. So
    /// the forward wins when the rows share little: short contexts before long choices (PIQA
    /// zero-shot), never with few-shot prompts, whose shared prefix is most of every row.
    func prefersFullForward(_ group: [TokenizedRequest], prefix: Int) -> Bool {
        let forwardPositions = group.map(\.inputCount).reduce(0, +)
        let decodedPositions = group.map { $0.inputCount - prefix }.reduce(0, +)
        return forwardPositions < decodedPositionCost * decodedPositions
    }

    /// Scores `requests` (group, index) with full forward passes, longest first; rows are padded
    /// at the end, which causal attention never sees. `done(group, index, score)` is called as
    /// each request finishes.
    ///
    /// The model's workspace grows to the most rows and the longest input it has seen, separately,
    /// so the row count is fixed by `longestInput` (the longest of the whole call, prefills
    /// included) and `logitsBudget`: `rows × longestInput × V` floats stay within the budget.
    func scoreByFullForward(_ requests: [(group: Int, index: Int, request: TokenizedRequest)], longestInput: Int,
                            done: (Int, Int, TokenScore) -> Void) throws {
        let v = model.config.vocabSize
        let rows = max(1, min(batchSize, logitsBudget / max(1, longestInput * v * MemoryLayout<Float>.size)))
        let order = requests.indices.sorted {
            requests[$0].request.inputCount != requests[$1].request.inputCount
                ? requests[$0].request.inputCount > requests[$1].request.inputCount : $0 < $1
        }
        var start = 0
        while start < order.count {
            let t = requests[order[start]].request.inputCount
            let batch = Array(order[start..<min(order.count, start + rows)])
            var ids = [Int32](repeating: 0, count: batch.count * t)
            for (b, k) in batch.enumerated() {
                let r = requests[k].request
                for p in 0..<r.inputCount { ids[b * t + p] = r.tokens[p] }
            }
            try ids.withUnsafeBufferPointer { _ = try model.forward(ids: $0.baseAddress!, batch: batch.count, seqLen: t) }
            let logits = model.logits
            // Every scored position of the batch, reduced in parallel.
            var positions: [(row: Int, p: Int)] = []
            for (b, k) in batch.enumerated() {
                let r = requests[k].request
                for p in r.firstScored..<r.inputCount { positions.append((b, p)) }
            }
            var reduced = [(logSumExp: Double, argmax: Int)](repeating: (0, 0), count: positions.count)
            reduced.withUnsafeMutableBufferPointer { out in
                model.pool.parallelFor(positions.count) { range in
                    for k in range { out[k] = LogSoftmaxRow.reduce(logits + (positions[k].row * t + positions[k].p) * v, count: v) }
                }
            }
            var k = 0
            for (b, index) in batch.enumerated() {
                let r = requests[index].request
                var ll = 0.0, greedy = true
                for p in r.firstScored..<r.inputCount {
                    let target = Int(r.tokens[p + 1])
                    ll += Double(logits[(b * t + p) * v + target]) - reduced[k].logSumExp
                    greedy = greedy && reduced[k].argmax == target
                    k += 1
                }
                done(requests[index].group, requests[index].index, TokenScore(logLikelihood: ll, isGreedy: greedy))
            }
            start += batch.count
        }
    }
}
