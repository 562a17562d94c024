import Foundation
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithTestSupport
import Testing

/// SmolLM2-135M-Instruct from its Q4_1 GGUF, dequantized to fp32 ("exact" path), against
/// transformers loading the same file (`scripts/make_smollm2_fixtures.py`). Needs the model in the
/// user cache (`monolith fetch smollm2-135m-instruct`, which `scripts/test` runs first).
@Suite("SmolLM2 (GGUF) matches transformers", .serialized, .enabled(if: cachedAsset(SmolLM2.file) != nil, "SmolLM2 is not in the cache: run `monolith fetch smollm2-135m-instruct`"))
struct SmolLM2ReferenceTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/smollm2/reference.safetensors").path

    @Test("the configuration comes from the GGUF metadata")
    func config() throws {
        let c = try SmolLM2.model().config
        #expect(c.isLlama && c.nLayer == 30 && c.nEmbd == 576 && c.nHead == 9 && c.kvHeads == 3 && c.vocabSize == 49152)
        #expect(c.intermediateSize == 1536 && c.tieWordEmbeddings && c.ropeTheta == 100000 && c.contextLength == 8192)
    }

    @Test("logits of 5 prompts within 1e-4 relative; per-position argmax and log-sum-exp agree")
    func logits() throws {
        let model = try SmolLM2.model(), ref = try SafeTensorsFile(path: Self.fixture)
        let v = model.config.vocabSize
        for k in 0..<5 {
            let ids = try ref.ints("prompt\(k)")
            _ = try ids.withUnsafeBufferPointer { try model.forward(ids: $0.baseAddress!, batch: 1, seqLen: ids.count) }
            let last = Array(UnsafeBufferPointer(start: model.logits + (ids.count - 1) * v, count: v))
            let err = relativeError(last, try ref.floats("last_logits\(k)"))
            #expect(err < 1e-4, "prompt \(k): last-position logits relative error \(err)")
            let argmax = try ref.ints("argmax\(k)"), lse = try ref.floats("lse\(k)")
            for t in 0..<ids.count {
                let row = UnsafeBufferPointer(start: model.logits + t * v, count: v)
                #expect(Int32(Sampler.argmax(row)) == argmax[t], "prompt \(k) position \(t): argmax")
                let m = row.max()!, s = row.reduce(0.0) { $0 + exp(Double($1 - m)) }
                #expect(abs(Float(Double(m) + log(s)) - lse[t]) < 1e-4 * abs(lse[t]), "prompt \(k) position \(t): log-sum-exp")
            }
        }
    }

    @Test("64 greedy tokens are identical to transformers' generate", arguments: 0..<3)
    func greedy(prompt k: Int) throws {
        let model = try SmolLM2.model(), ref = try SafeTensorsFile(path: Self.fixture)
        let ids = try ref.ints("prompt\(k)"), want = try ref.ints("greedy\(k)")
        var sampler = Sampler(temperature: 0)
        let out = try Generator(model: model, capacity: 128).generate(prompt: ids, maxNewTokens: want.count, sampler: &sampler)
        #expect(out == want)
    }
}

/// The cached SmolLM2 model, loaded once per process.
enum SmolLM2 {
    static let file = "SmolLM2-135M-Instruct.Q4_1.gguf"
    nonisolated(unsafe) static var loaded: GPT?
    static let lock = NSLock()
    static func model() throws -> GPT {
        lock.lock(); defer { lock.unlock() }
        if let loaded { return loaded }
        let m = try GPT.loadGGUF(path: cachedAsset(file)!)
        loaded = m
        return m
    }
}
