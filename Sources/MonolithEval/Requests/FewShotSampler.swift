/// Draws few-shot examples exactly as lm-eval's default `ContextSampler` does when the few-shot
/// split is the evaluated split: `Random(seed).sample(pool, k + 1)`, drop every pool document
/// equal (Python `==`) to the evaluated one, keep the first `k`; if equal copies left fewer than
/// `k`, draw again from the pool without them. One generator serves a task's documents in order,
/// so a document's examples depend on the ones drawn before it, as in lm-eval.
public struct FewShotSampler {
    let pool: [EvalDocument]
    var rnd: PythonRandom

    /// A sampler over `pool` (every document of the task's file), seeded as
    /// `random.Random(seed)` (lm-eval's `fewshot_random_seed`, 1234 by default).
    public init(pool: [EvalDocument], seed: Int) {
        self.pool = pool
        rnd = PythonRandom(seed: seed)
    }

    /// Pool indices of `k` examples for `document`.
    public mutating func sample(_ k: Int, for document: EvalDocument) -> [Int] {
        guard k > 0 else { return [] }
        let drawn = rnd.sample(populationCount: pool.count, k: k + 1)
        var result = Array(drawn.filter { pool[$0].record != document.record }.prefix(k))
        if result.count < k {
            let rest = pool.indices.filter { pool[$0].record != document.record }
            result = rnd.sample(populationCount: rest.count, k: k).map { rest[$0] }
        }
        return result
    }
}
