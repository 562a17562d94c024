import Foundation
import MonolithGGUF
import MonolithModel
import MonolithTestSupport
import Testing

/// GGUF export and import of GPT-2 and Llama models: llama.cpp's names and `[out, in]` layout,
/// Llama's q/k rows permuted for interleaved rotary pairs on the way out and back on the way in.
@Suite("GGUF models")
struct GGUFModelTests {
    static func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("monolith-gguf-\(getpid())-\(name).gguf").path
    }

    @Test("F32 export then import gives back every parameter bit for bit", arguments: ["small", "gqa_tied", "untied"])
    func roundTrip(name: String) throws {
        let model = try ReferenceFixture(name).model()
        let path = Self.tempPath(name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveGGUF(path: path, type: .f32)
        let back = try GPT.loadGGUF(path: path)
        #expect(back.config.sameArchitecture(as: model.config))
        #expect(back.parameters.toArray() == model.parameters.toArray())
        // llama.cpp's names and shapes.
        let file = try GGUFFile(path: path)
        #expect(file.tensor(named: "token_embd.weight")?.dimensions == [model.config.nEmbd, model.config.vocabSize])
        if model.config.isLlama {
            #expect(file.tensor(named: "blk.0.attn_k.weight")?.dimensions == [model.config.nEmbd, model.config.kvWidth])
            #expect((file.tensor(named: "output.weight") == nil) == model.config.tieWordEmbeddings)
        } else {
            #expect(file.tensor(named: "blk.0.attn_qkv.weight")?.dimensions == [model.config.nEmbd, 3 * model.config.nEmbd])
        }
    }

    @Test("Q8_0 export keeps vectors in F32 and matrices within Q8_0's rounding")
    func q8Export() throws {
        let model = try ReferenceFixture("gqa_tied").model()
        let path = Self.tempPath("q8")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveGGUF(path: path, type: .q8_0)
        let file = try GGUFFile(path: path)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .q8_0)
        #expect(file.tensor(named: "blk.0.attn_norm.weight")?.type == .f32)
        let back = try GPT.loadGGUF(path: path)
        let err = relativeError(back.parameters.toArray(), model.parameters.toArray())
        #expect(err < 1e-2 && err > 0, "Q8_0 round trip relative error \(err)")
    }

    @Test("bad GGUF models are refused with the file and the key")
    func badModels() throws {
        let model = try ReferenceFixture("gqa_tied").model()
        let path = Self.tempPath("bad")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveGGUF(path: path, type: .f32, extra: [("tokenizer.ggml.tokens", .array(.string, [.string("a")]))])
        #expect { try GPT.loadGGUF(path: path) } throws: { "\($0)".contains(path) && "\($0)".contains("tokenizer.ggml.tokens has 1 entries") }
        var c = model.config
        c.kvHeads = 3   // does not divide 4 heads: written anyway, refused on load
        let w = GGUFWriter()
        try w.add("general.architecture", .string("llama"))
        for (k, v) in [("block_count", 2), ("context_length", 32), ("embedding_length", 64), ("feed_forward_length", 88),
                       ("attention.head_count", 4), ("attention.head_count_kv", 3)] {
            try w.add("llama." + k, .uint32(UInt32(v)))
        }
        try w.addTensor("token_embd.weight", dimensions: [64, 97], type: .f32, values: [Float](repeating: 0, count: 64 * 97))
        try w.write(to: path)
        #expect { try GPT.loadGGUF(path: path) } throws: { "\($0)".contains("llama.attention.head_count_kv") && "\($0)".contains(path) }
        let unknown = GGUFWriter()
        try unknown.add("general.architecture", .string("falcon"))
        try unknown.write(to: path)
        #expect { try GPT.loadGGUF(path: path) } throws: { "\($0)".contains("falcon") }
    }
}
