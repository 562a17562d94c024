import Foundation
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithTestSupport
import Testing

/// KV-cache decoding, sampling and perplexity against transformers (`scripts/make_hf_fixtures.py`).
@Suite("Generation and perplexity")
struct GenerationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf").path
    static func model() throws -> GPT { try GPT.loadHuggingFace(directory: root + "/fp32") }
    static func expected() throws -> SafeTensorsFile { try SafeTensorsFile(path: root + "/expected.safetensors") }

    @Test("greedy output is identical to transformers' generate")
    func greedyMatchesTransformers() throws {
        let exp = try Self.expected()
        let prompt = try exp.ints("greedy_prompt"), want = try exp.ints("greedy_output")
        var sampler = Sampler(temperature: 0)
        let out = try Generator(model: Self.model()).generate(prompt: prompt, maxNewTokens: want.count - prompt.count, sampler: &sampler)
        #expect(prompt + out == want)
    }

    @Test("each decode step's logits equal a full forward over the prefix", arguments: [1, 5])
    func decodeMatchesFullForward(promptLength: Int) throws {
        let model = try Self.model()
        let reference = try Self.model()
        let ids = try Self.expected().ints("ids").prefix(20).map { $0 }
        let session = try DecodeSession(model: model, slots: 1)
        var logits = try session.prefill(Array(ids.prefix(promptLength)))
        for n in promptLength...ids.count {
            let prefix = Array(ids.prefix(n))
            try prefix.withUnsafeBufferPointer { try reference.forward(ids: $0.baseAddress!, batch: 1, seqLen: n) }
            let v = model.config.vocabSize
            let full = Array(UnsafeBufferPointer(start: reference.logits + (n - 1) * v, count: v))
            let err = relativeError(logits, full)
            #expect(err < 1e-5, "position \(n - 1): relative error \(err)")
            if n < ids.count { logits = try session.decode([ids[n]]) }
        }
    }

    @Test("bf16-weight decoding equals fp32 math on the same bf16-rounded weights")
    func bf16Decode() throws {
        let model = try Self.model(), reference = try Self.model()
        model.roundWeightsToBF16(); reference.roundWeightsToBF16()
        let ids = try Self.expected().ints("ids").prefix(12).map { $0 }
        let session = try DecodeSession(model: model, slots: 1, weights: .bf16)
        _ = try session.prefill(Array(ids.prefix(4)))
        var logits: [Float] = []
        for n in 4..<12 { logits = Array(try session.decode([ids[n]])) }
        try ids.withUnsafeBufferPointer { try reference.forward(ids: $0.baseAddress!, batch: 1, seqLen: 12) }
        let v = model.config.vocabSize
        let full = Array(UnsafeBufferPointer(start: reference.logits + 11 * v, count: v))
        #expect(relativeError(logits, full) < 1e-5)
    }

    @Test("bf16 packing round-trips every element")
    func bf16Packing() throws {
        let model = try Self.model()
        model.roundWeightsToBF16()
        let w = model.blockWeights(0).fcW, c = model.config.nEmbd
        let packed = BF16Matrix(w, rows: c, cols: 4 * c, ld: 4 * c)
        for r in 0..<c { for col in 0..<(4 * c) { #expect(packed[r, col] == w[r * 4 * c + col]) } }
    }

    /// Full-forward logits of `ids`' last position, the reference for the cache tests below.
    static func lastLogits(_ model: GPT, _ ids: [Int32]) throws -> [Float] {
        try ids.withUnsafeBufferPointer { try model.forward(ids: $0.baseAddress!, batch: 1, seqLen: ids.count) }
        let v = model.config.vocabSize
        return Array(UnsafeBufferPointer(start: model.logits + (ids.count - 1) * v, count: v))
    }

    @Test("sequences at different positions decode together, each equal to its own full forward")
    func raggedDecode() throws {
        let model = try Self.model(), reference = try Self.model()
        let ids = try Self.expected().ints("ids")  // [2, 20]
        let a = Array(ids[0..<20]), b = Array(ids[20..<40])
        let session = try DecodeSession(model: model, slots: 3)
        _ = try session.prefill(slot: 0, Array(a.prefix(3)))
        _ = try session.prefill(slot: 2, Array(b.prefix(9)))
        #expect(session.cache.lengths == [3, 0, 9])
        // Slots 0 and 2 step together at positions 3 and 9, then slot 2 alone, then both again.
        var la = 3, lb = 9
        for round in 0..<6 {
            let both = round != 2
            let slots = both ? [0, 2] : [2]
            let tokens = both ? [a[la], b[lb]] : [b[lb]]
            let out = Array(try session.decode(slots: slots, tokens: tokens))
            let v = model.config.vocabSize
            if both { la += 1 }
            lb += 1
            let wantB = try Self.lastLogits(reference, Array(b.prefix(lb)))
            let gotB = Array(out[((both ? 1 : 0) * v)..<((both ? 2 : 1) * v)])
            #expect(relativeError(gotB, wantB) < 1e-5, "round \(round): slot 2 at position \(lb - 1)")
            if both {
                #expect(relativeError(Array(out[0..<v]), try Self.lastLogits(reference, Array(a.prefix(la)))) < 1e-5,
                        "round \(round): slot 0 at position \(la - 1)")
            }
        }
        #expect(session.cache.lengths == [8, 0, 15])
    }

    @Test("a copied KV prefix continues exactly as if the sequence had been run from the start")
    func sharedPrefix() throws {
        let model = try Self.model(), reference = try Self.model()
        let ids = try Self.expected().ints("ids")
        let prompt = Array(ids[0..<8])
        let session = try DecodeSession(model: model, slots: 2)
        _ = try session.prefill(slot: 0, prompt)
        // Slot 1 shares the first 5 positions, then takes its own continuation.
        try session.cache.copyPrefix(from: 0, to: 1, count: 5)
        let own = Array(ids[25..<29])
        let extended = Array(try session.extend(slot: 1, with: own))
        let want = try Self.lastLogits(reference, Array(prompt.prefix(5)) + own)
        #expect(relativeError(extended, want) < 1e-5)
        // Slot 0 is untouched by the copy and continues its own sequence.
        let next = Array(try session.decode(slots: [0], tokens: [ids[8]]))
        #expect(relativeError(next, try Self.lastLogits(reference, Array(ids[0..<9]))) < 1e-5)
        #expect(throws: ModelInputError.self) { try session.cache.copyPrefix(from: 0, to: 1, count: 99) }
        #expect(throws: ModelInputError.self) { try session.decode(slots: [0, 0], tokens: [1, 2]) }
    }

    @Test("batched decoding equals decoding each sequence alone")
    func batchedDecode() throws {
        let model = try Self.model()
        let ids = try Self.expected().ints("ids")  // [2, 20]
        let both = try DecodeSession(model: model, slots: 2)
        _ = try both.prefill(Array(ids[0..<6]) + Array(ids[20..<26]))
        let batched = Array(try both.decode([ids[6], ids[26]]))
        for row in 0..<2 {
            let one = try DecodeSession(model: try Self.model(), slots: 1)
            _ = try one.prefill(Array(ids[(row * 20)..<(row * 20 + 6)]))
            let single = Array(try one.decode([ids[row * 20 + 6]]))
            let v = model.config.vocabSize
            let err = relativeError(Array(batched[(row * v)..<((row + 1) * v)]), single)
            #expect(err < 1e-5)
        }
    }

    @Test("batch-invariant decoding: each of 9 rows is bit-identical to its sequence decoded alone", arguments: [false, true])
    func batchInvariantDecode(bf16: Bool) throws {
        let ids = try Self.expected().ints("ids").map { $0 }
        func session(_ slots: Int) throws -> DecodeSession {
            let model = try Self.model()
            if bf16 { model.roundWeightsToBF16() }
            let s = try DecodeSession(model: model, slots: slots, weights: bf16 ? .bf16 : .fp32)
            s.batchInvariant = true
            return s
        }
        // 9 rows: two GEMV groups of invariantRows and one row, where one GEMM would sum in another order.
        let all = try session(9), v = try Self.model().config.vocabSize
        for s in 0..<9 { _ = try all.step(slots: Array(repeating: s, count: 5), tokens: Array(ids[(3 * s)..<(3 * s + 5)]), projecting: []) }
        let together = Array(try all.decode(slots: Array(0..<9), tokens: (0..<9).map { ids[3 * $0 + 5] }))
        for s in [0, 4, 8] {
            let alone = try session(1)
            _ = try alone.step(slots: Array(repeating: 0, count: 5), tokens: Array(ids[(3 * s)..<(3 * s + 5)]), projecting: [])
            let row = Array(try alone.decode(slots: [0], tokens: [ids[3 * s + 5]]))
            #expect(Array(together[(s * v)..<((s + 1) * v)]) == row, "row \(s)")
        }
    }

    @Test("sampling is reproducible for a seed and differs across seeds")
    func samplingSeeds() throws {
        let model = try Self.model()
        let prompt = try Self.expected().ints("greedy_prompt")
        func run(_ seed: UInt64) throws -> [Int32] {
            var s = Sampler(temperature: 1.0, topK: 40, topP: 0.95, seed: seed)
            return try Generator(model: model).generate(prompt: prompt, maxNewTokens: 20, sampler: &s)
        }
        #expect(try run(1) == run(1))
        #expect(try run(1) != run(2))
        var topOne = Sampler(temperature: 0.7, topK: 1, seed: 3), greedy = Sampler(temperature: 0)
        #expect(try Generator(model: model).generate(prompt: prompt, maxNewTokens: 10, sampler: &topOne)
                == Generator(model: model).generate(prompt: prompt, maxNewTokens: 10, sampler: &greedy))
    }

    @Test("a prompt longer than the context is refused")
    func promptTooLong() throws {
        var s = Sampler(temperature: 0)
        #expect(throws: ModelInputError.self) {
            try Generator(model: Self.model()).generate(prompt: [Int32](repeating: 1, count: 60), maxNewTokens: 10, sampler: &s)
        }
    }

    @Test("perplexity equals transformers' sliding-window number to 1e-4", arguments: [(64, 64), (64, 32), (40, 16)])
    func perplexity(context: Int, stride: Int) throws {
        let exp = try Self.expected()
        let want = try exp.floats("ppl_\(context)_\(stride)")
        let r = try Perplexity.evaluate(model: Self.model(), tokens: exp.ints("ppl_tokens"), context: context, stride: stride)
        #expect(abs(r.meanLoss - Double(want[0])) / Double(want[0]) < 1e-4, "mean loss \(r.meanLoss) vs \(want[0])")
        #expect(abs(r.perplexity - Double(want[1])) / Double(want[1]) < 1e-4, "perplexity \(r.perplexity) vs \(want[1])")
    }
}
