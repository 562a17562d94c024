import Foundation
import MonolithGGUF
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithTestSupport
import Testing

/// The native path (`--weights native`) on small random models exported by Monolith's own GGUF
/// writer: quantized matrices read in place, 8-bit activations, q/k rows un-permuted at load.
@Suite("Native quantized decoding")
struct NativeDecodeTests {
    static func model(_ architecture: ModelArchitecture) throws -> GPT {
        let config = architecture == .llama
            ? GPTConfig.llama(nLayer: 2, nHead: 4, kvHeads: 2, nEmbd: 64, intermediateSize: 96, vocabSize: 80, contextLength: 64,
                              initStd: 0.15)
            : GPTConfig(nLayer: 2, nHead: 4, nEmbd: 64, vocabSize: 80, contextLength: 64, initStd: 0.15)
        let m = try GPT(config: config)
        m.initializeWeights(seed: 7)
        return m
    }

    /// `model` written as `type` and opened both ways: natively and dequantized to fp32.
    static func opened(_ model: GPT, as type: GGMLType, _ body: (GPT, NativeWeights, GPT) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("monolith-native-\(UUID().uuidString)-\(type.name).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveGGUF(path: path, type: type)
        let file = try GGUFFile(path: path)
        let (native, weights) = try GPT.loadGGUFNative(file: file)
        try body(native, weights, try GPT.loadGGUF(file: file))
    }

    /// The last position's logits of `prompt` (copied while `session`, which owns them, is alive).
    static func prefill(_ session: DecodeSession) throws -> [Float] { Array(try session.prefill(slot: 0, prompt)) }

    static let prompt: [Int32] = (0..<40).map { Int32(($0 * 37 + 11) % 80) }

    @Test("Q8_0 files: every matrix runs quantized, logits within 8-bit activation rounding of the exact path",
          arguments: [ModelArchitecture.llama, .gpt2])
    func closeToExact(architecture: ModelArchitecture) throws {
        try Self.opened(try Self.model(architecture), as: .q8_0) { native, weights, exact in
            // Every projection, the embedding and the head are quantized; their fp32 slots stay empty.
            #expect(weights.blocks.allSatisfy { [$0.qkv, $0.attnProj, $0.fc, $0.fcProj].allSatisfy(\.replacesFP32) })
            #expect(weights.embedding != nil && weights.head != nil)
            #expect(native.parameters.base[native.layout.blocks[0].qkvw] == 0)
            let session = try DecodeSession(model: native, weights: .native(weights), promptChunk: 16)
            let got = try Self.prefill(session)
            let v = exact.config.vocabSize, t = Self.prompt.count
            _ = try Self.prompt.withUnsafeBufferPointer { try exact.forward(ids: $0.baseAddress!, batch: 1, seqLen: t) }
            let want = Array(UnsafeBufferPointer(start: exact.logits + (t - 1) * v, count: v))
            let err = relativeError(got, want)
            // Quantized activations move the logits by about 1%; a wrong q/k row order or a
            // misplaced part moves them by far more.
            #expect(err > 0 && err < 3e-2, "native vs exact relative error \(err)")
        }
    }

    @Test("results do not depend on how many positions run together", arguments: [ModelArchitecture.llama, .gpt2])
    func batchInvariant(architecture: ModelArchitecture) throws {
        try Self.opened(try Self.model(architecture), as: .q8_0) { native, weights, _ in
            // Chunks under 8 rows take the per-row attention, so only the batching of the
            // quantized products (four vectors per pass, or one) differs: bit-identical.
            let chunked = try DecodeSession(model: native, weights: .native(weights), promptChunk: 6)
            let a = try Self.prefill(chunked)
            let stepped = try DecodeSession(model: native, weights: .native(weights), promptChunk: 1)
            let b = try Self.prefill(stepped)
            #expect(a == b)
            // A chunk of 8 or more attends through matrix products: same values to fp32 rounding.
            let wide = try DecodeSession(model: native, weights: .native(weights), promptChunk: 32)
            #expect(relativeError(try Self.prefill(wide), b) < 3e-2)
        }
    }

    @Test("scores of every position equal the decode steps' log-softmax")
    func targetLogProbabilities() throws {
        try Self.opened(try Self.model(.llama), as: .q8_0) { native, weights, _ in
            let session = try DecodeSession(model: native, weights: .native(weights), promptChunk: 4)
            let targets = Self.prompt.indices.map { $0 + 1 < Self.prompt.count && $0 % 3 == 0 ? Self.prompt[$0 + 1] : -1 }
            let scores = try session.targetLogProbabilities(slot: 0, Self.prompt, targets: targets)
            let steps = try DecodeSession(model: native, weights: .native(weights), promptChunk: 1)
            for (t, id) in Self.prompt.enumerated() {
                let row = try t == 0 ? steps.prefill(slot: 0, [id]) : steps.decode([id])
                guard targets[t] >= 0 else { #expect(scores[t] == 0); continue }
                let m = Double(row.max()!), lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
                #expect(abs(scores[t] - (Double(row[Int(targets[t])]) - lse)) < 1e-9, "position \(t)")
            }
        }
    }

    @Test("F16 files have nothing to run natively: the native session equals the exact one")
    func nothingQuantized() throws {
        try Self.opened(try Self.model(.llama), as: .f16) { native, weights, exact in
            #expect(weights.replaced.isEmpty && weights.embedding == nil && weights.head == nil)
            let a = try Self.prefill(DecodeSession(model: native, weights: .native(weights)))
            let b = try Self.prefill(DecodeSession(model: exact))
            #expect(relativeError(a, b) < 1e-4)
        }
    }
}
