import Foundation
import MonolithModel

/// A PyTorch/transformers reference written by `scripts/make_gpt2_fixtures.py` (GPT-2) or
/// `scripts/make_llama_fixtures.py` (Llama): tensors under Hugging Face names.
struct ReferenceFixture {
    static let names = ["small", "two_heads", "odd_width"]
    static let llamaNames = ["gqa_tied", "untied", "mha"]

    let file: SafeTensorsFile
    let config: GPTConfig
    let batch: Int, seqLen: Int

    init(_ name: String) throws {
        let dir = Self.llamaNames.contains(name) ? "llama" : "gpt2"
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(dir)/\(name).safetensors")
        file = try SafeTensorsFile(path: url.path)
        let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
        config = try JSONDecoder().decode(GPTConfig.self, from: Data(file.metadata["config"]!.utf8))
        batch = meta["batch"] as! Int
        seqLen = meta["seq"] as! Int
    }

    /// A model holding the fixture's initial weights.
    func model() throws -> GPT {
        let m = try GPT(config: config)
        try m.loadParameters(from: file, prefix: "param.")
        return m
    }
}
