import Foundation
import MonolithKernels
import MonolithModel
import MonolithTestSupport
import Testing

/// Loading and saving Hugging Face GPT-2 directories, against files written by
/// `GPT2LMHeadModel.save_pretrained` and logits computed by transformers
/// (`scripts/make_hf_fixtures.py`).
@Suite("Hugging Face interop")
struct HuggingFaceInteropTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf").path

    static func expected() throws -> SafeTensorsFile { try SafeTensorsFile(path: root + "/expected.safetensors") }

    @Test("a transformers checkpoint gives transformers' logits", arguments: ["fp32", "fp16", "bf16"])
    func loadsTransformersCheckpoint(dtype: String) throws {
        let model = try GPT.loadHuggingFace(directory: Self.root + "/" + dtype)
        let exp = try Self.expected()
        let ids = try exp.ints("ids")
        try ids.withUnsafeBufferPointer { try model.forward(ids: $0.baseAddress!, batch: 2, seqLen: 20) }
        let ref = try exp.floats("logits_" + dtype)
        let err = relativeError(UnsafeBufferPointer(start: model.logits, count: ref.count), ref)
        #expect(err < 1e-5, "\(dtype): logits relative error \(err)")
    }

    @Test("saving writes what transformers writes, tensor for tensor", arguments: [
        ("fp32", SafeTensorsDType.f32), ("fp16", .f16), ("bf16", .bf16)])
    func savesLikeTransformers(dtype: String, st: SafeTensorsDType) throws {
        let model = try GPT.loadHuggingFace(directory: Self.root + "/fp32")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("monolith-hf-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.saveHuggingFace(directory: dir, dtype: st)
        let ours = try SafeTensorsFile(path: dir + "/model.safetensors")
        let theirs = try SafeTensorsFile(path: Self.root + "/\(dtype)/model.safetensors")
        #expect(Set(ours.entries.keys) == Set(theirs.entries.keys))
        for (name, e) in theirs.entries {
            let o = try #require(ours.entries[name])
            #expect(o.dtype == e.dtype && o.shape == e.shape, "\(name)")
            #expect(Array(try ours.bytes(name)) == Array(try theirs.bytes(name)), "\(name): bytes differ")
        }
        let reloaded = try GPT.loadHuggingFace(directory: dir)
        #expect(reloaded.config == model.config)
    }

    @Test("a checkpoint without the transformer. prefix loads (the original gpt2 upload)")
    func loadsUnprefixedNames() throws {
        let b = try GPT.loadHuggingFace(directory: Self.root + "/fp32")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("monolith-hf-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tensors = b.layout.tensors.map {
            SafeTensorsWriter.Tensor(name: String($0.name.dropFirst("transformer.".count)), shape: $0.shape,
                                     values: UnsafeBufferPointer(b.parameters[$0.offset, $0.count]))
        }
        try SafeTensorsWriter.write(tensors, to: dir + "/model.safetensors")
        try FileManager.default.copyItem(atPath: Self.root + "/fp32/config.json", toPath: dir + "/config.json")
        let a = try GPT.loadHuggingFace(directory: dir)
        #expect(a.parameters.toArray() == b.parameters.toArray())
    }

    @Test("a vocabulary that does not match vocab_size is refused, naming the file")
    func vocabularyMismatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("monolith-hf-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.root + "/fp32/model.safetensors", toPath: dir + "/model.safetensors")
        var cfg = try String(contentsOfFile: Self.root + "/fp32/config.json", encoding: .utf8)
        cfg = cfg.replacingOccurrences(of: "\"vocab_size\": 97", with: "\"vocab_size\": 100")
        try cfg.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let error = #expect(throws: SafeTensorsError.self) { try GPT.loadHuggingFace(directory: dir) }
        #expect(error?.description.contains("vocabulary does not match") == true)
        #expect(error?.description.contains("model.safetensors") == true)
    }
}
