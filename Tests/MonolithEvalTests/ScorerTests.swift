import Foundation
import MonolithModel
import Testing
@testable import MonolithEval

/// The prefix-sharing scorer against the plain full forward pass, batching invariance, and the
/// log-likelihood cache.
@Suite struct ScorerTests {
    /// Log-likelihood and greedy flag from one full forward over the request (every position's
    /// logits, as lm-eval's `hf` model computes them), in double precision.
    func reference(_ model: GPT, _ r: TokenizedRequest) throws -> TokenScore {
        let input = Array(r.tokens.dropLast())
        try input.withUnsafeBufferPointer { _ = try model.forward(ids: $0.baseAddress!, batch: 1, seqLen: input.count) }
        let v = model.config.vocabSize
        var ll = 0.0, greedy = true
        for p in r.firstScored..<r.inputCount {
            let row = model.logits + p * v
            var m = -Float.infinity, arg = 0
            for j in 0..<v where row[j] > m { m = row[j]; arg = j }
            var s = 0.0
            for j in 0..<v { s += exp(Double(row[j] - m)) }
            let target = Int(r.tokens[p + 1])
            ll += Double(row[target]) - Double(m) - log(s)
            greedy = greedy && arg == target
        }
        return TokenScore(logLikelihood: ll, isGreedy: greedy)
    }

    func groups(_ task: String, shots: Int, limit: Int) throws -> [[TokenizedRequest]] {
        let t = try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load([task])[0]
        let encoder = RequestEncoder(tokenizer: EvalFixtures.tokenizer, maxLength: 256, prefixToken: 50256)
        return try RequestBuilder.build(t, numFewshot: shots, limit: limit, seed: 1234).map { try $0.requests.map(encoder.encode) }
    }

    /// Both strategies (prefix-shared decoding, batched full forward passes) and batch sizes 1
    /// and 8 against one plain forward pass per request.
    @Test(arguments: ["piqa", "hellaswag", "winogrande", "lambada_openai"])
    func scoringStrategiesEqualFullForward(task: String) throws {
        let model = try EvalFixtures.model()
        let groups = try groups(task, shots: 1, limit: 6)
        func scores(batch: Int, decodedPositionCost: Int) throws -> [[TokenScore]] {
            let scorer = GPTScorer(model: try EvalFixtures.model(), batchSize: batch)
            scorer.decodedPositionCost = decodedPositionCost
            return try scorer.score(groups) { _ in }
        }
        let decoded = try scores(batch: 8, decodedPositionCost: 0), forward = try scores(batch: 8, decodedPositionCost: 1000)
        let single = try scores(batch: 1, decodedPositionCost: 0), singleForward = try scores(batch: 1, decodedPositionCost: 1000)
        for (g, group) in groups.enumerated() {
            for (i, r) in group.enumerated() {
                let want = try reference(model, r)
                for (name, got) in [("decoded", decoded), ("forward", forward), ("decoded, batch 1", single), ("forward, batch 1", singleForward)] {
                    #expect(relative(got[g][i].logLikelihood, want.logLikelihood) < 2e-5, "\(task) doc \(g) request \(i): \(name)")
                    #expect(got[g][i].isGreedy == want.isGreedy, "\(task) doc \(g) request \(i): \(name)")
                }
            }
        }
    }

    /// A model that counts the requests it scores.
    final class Counting: LoglikelihoodModel {
        let inner: GPTScorer
        var scored = 0
        init(_ inner: GPTScorer) { self.inner = inner }
        var maxLength: Int { inner.maxLength }
        var fingerprint: String { inner.fingerprint }
        func score(_ groups: [[TokenizedRequest]], progress: (Int) -> Void) throws -> [[TokenScore]] {
            scored += groups.joined().count
            return try inner.score(groups, progress: progress)
        }
    }

    @Test func cacheServesARerunAndSeparatesModels() throws {
        let dir = EvalFixtures.scratch("cache")
        let tasks = try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load(["piqa", "lambada_openai"])
        let model = Counting(GPTScorer(model: try EvalFixtures.model()))
        let first = try Evaluator(model: model, tokenizer: EvalFixtures.tokenizer,
                                  cache: try LoglikelihoodCache(directory: dir, fingerprint: model.fingerprint))
            .run(tasks, options: EvalOptions(limit: 6))
        let requests = first.map { $0.tokenized.joined().count }.reduce(0, +)
        #expect(model.scored == requests)
        model.scored = 0
        let again = try Evaluator(model: model, tokenizer: EvalFixtures.tokenizer,
                                  cache: try LoglikelihoodCache(directory: dir, fingerprint: model.fingerprint))
            .run(tasks, options: EvalOptions(limit: 6))
        #expect(model.scored == 0)
        #expect(again.map(\.cachedRequests).reduce(0, +) == requests)
        #expect(again.map(\.scores) == first.map(\.scores))

        let other = try EvalFixtures.model()
        other.parameters.base[12345] += 1e-3
        #expect(GPTScorer(model: other).fingerprint != model.fingerprint)
    }
}
