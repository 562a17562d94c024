import Foundation
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithTestSupport
import Testing

/// KV-cache decoding of Llama blocks (rotary positions applied per row, grouped-query attention
/// over a cache of key/value heads) against the full forward, whose logits match transformers
/// (`scripts/make_llama_fixtures.py`, checked in the model tests).
@Suite("Llama decoding")
struct LlamaDecodeTests {
    static func model(_ name: String) throws -> GPT {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/llama/\(name).safetensors")
        let file = try SafeTensorsFile(path: url.path)
        let model = try GPT(config: try JSONDecoder().decode(GPTConfig.self, from: Data(file.metadata["config"]!.utf8)))
        try model.loadParameters(from: file, prefix: "param.")
        return model
    }

    @Test("each decode step's logits equal a full forward over the prefix", arguments: ["gqa_tied", "untied"])
    func decodeMatchesFullForward(name: String) throws {
        let model = try Self.model(name), reference = try Self.model(name)
        let v = model.config.vocabSize, n = min(model.config.contextLength, 20)
        let ids = (0..<n).map { Int32(($0 * 37 + 11) % v) }
        let session = try DecodeSession(model: model, slots: 2)
        // Slot 1 holds a shorter sequence, so one decode step serves two positions at once.
        _ = try session.prefill(slot: 1, Array(ids.prefix(2)))
        var logits = try session.prefill(slot: 0, Array(ids.prefix(3)))
        for len in 3...n {
            _ = try ids.withUnsafeBufferPointer { try reference.forward(ids: $0.baseAddress!, batch: 1, seqLen: len) }
            let full = Array(UnsafeBufferPointer(start: reference.logits + (len - 1) * v, count: v))
            let err = relativeError(Array(logits.prefix(v)), full)
            #expect(err < 1e-5, "position \(len - 1): relative error \(err)")
            if len < n {
                let rows = try session.decode(slots: [0, 1], tokens: [ids[len], ids[len - 1]])
                logits = UnsafeBufferPointer(rebasing: rows[0..<v])
            }
        }
    }

    @Test("bf16-weight decoding equals fp32 math on the same bf16-rounded weights")
    func bf16Decode() throws {
        let model = try Self.model("mha"), reference = try Self.model("mha")
        model.roundWeightsToBF16(); reference.roundWeightsToBF16()
        let v = model.config.vocabSize
        let ids = (0..<12).map { Int32(($0 * 13 + 5) % v) }
        let session = try DecodeSession(model: model, slots: 1, weights: .bf16)
        _ = try session.prefill(Array(ids.prefix(4)))
        var logits: [Float] = []
        for i in 4..<12 { logits = Array(try session.decode([ids[i]])) }
        _ = try ids.withUnsafeBufferPointer { try reference.forward(ids: $0.baseAddress!, batch: 1, seqLen: 12) }
        let full = Array(UnsafeBufferPointer(start: reference.logits + 11 * v, count: v))
        #expect(relativeError(logits, full) < 1e-5)
    }
}
