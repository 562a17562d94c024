import Foundation
import MonolithKernels

/// A Hugging Face GPT-2 model directory: `config.json` + `model.safetensors` (+ tokenizer files).
///
/// Monolith's parameter names and layouts are Hugging Face's (`transformer.h.{i}.attn.c_attn.weight`
/// in Conv1D `[in, out]` layout, `lm_head` tied to `wte`), so saving and loading are straight copies
/// with dtype conversion. Checkpoints saved without the `transformer.` prefix (the original
/// `gpt2` upload) and with the legacy `attn.bias`/`attn.masked_bias` buffers also load.
public enum HuggingFaceCheckpoint {
    /// Files that make up a tokenizer, copied next to the weights on save when present.
    public static let tokenizerFiles = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                                        "special_tokens_map.json", "encoder.json", "vocab.bpe", "r50k_base.tiktoken",
                                        "char_tokenizer.json"]

    /// Reads and validates `directory/config.json`.
    public static func readConfig(directory: String) throws -> GPTConfig {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelInputError("\(path): missing (a Hugging Face model directory needs config.json)")
        }
        let json: [String: Any]
        do {
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelInputError("\(path): not a JSON object")
            }
            json = obj
        } catch let e as ModelInputError { throw e } catch {
            throw ModelInputError("\(path): invalid JSON: \(error.localizedDescription)")
        }
        if let t = json["model_type"] as? String, t == "llama" { return try LlamaConfigReader.read(json, path: path) }
        if let t = json["model_type"] as? String, t != "gpt2" {
            throw ModelInputError("\(path): model_type is '\(t)'; Monolith reads \"gpt2\" and \"llama\" models")
        }
        if let act = json["activation_function"] as? String, !["gelu_new", "gelu_pytorch_tanh", "gelu_fast"].contains(act) {
            throw ModelInputError("\(path): activation_function '\(act)' is not supported (only the tanh GELU, \"gelu_new\")")
        }
        for (key, expected) in [("scale_attn_by_inverse_layer_idx", false), ("reorder_and_upcast_attn", false),
                                ("add_cross_attention", false), ("scale_attn_weights", true), ("tie_word_embeddings", true)] {
            if let v = json[key] as? Bool, v != expected {
                throw ModelInputError("\(path): \(key) = \(v) is not supported")
            }
        }
        if let inner = json["n_inner"] as? Int, let c = json["n_embd"] as? Int, inner != 4 * c {
            throw ModelInputError("\(path): n_inner = \(inner) is not supported (must be 4·n_embd = \(4 * c) or null)")
        }
        let config: GPTConfig
        do { config = try JSONDecoder().decode(GPTConfig.self, from: data) } catch {
            throw ModelInputError("\(path): \(error)")
        }
        do { try config.validate() } catch { throw ModelInputError("\(path): \(error)") }
        return config
    }

    /// The `config.json` Hugging Face writes for `GPT2LMHeadModel` (or `LlamaForCausalLM`) with
    /// this shape; `special` adds `bos_token_id`/`eos_token_id`.
    public static func configJSON(_ c: GPTConfig, dtype: SafeTensorsDType, special: (bos: Int?, eos: Int?)? = nil) -> Data {
        let torchDtype = dtype == .f16 ? "float16" : dtype == .bf16 ? "bfloat16" : "float32"
        if c.isLlama { return LlamaConfigReader.json(c, torchDtype: torchDtype, bos: special?.bos, eos: special?.eos) }
        var obj: [String: Any] = [
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
            "n_layer": c.nLayer, "n_head": c.nHead, "n_embd": c.nEmbd, "n_positions": c.contextLength,
            "n_ctx": c.contextLength, "vocab_size": c.vocabSize, "layer_norm_epsilon": Double(c.layerNormEpsilon),
            "initializer_range": Double(c.initStd), "resid_pdrop": Double(c.dropout), "embd_pdrop": Double(c.dropout),
            "attn_pdrop": Double(c.dropout), "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false,
            "reorder_and_upcast_attn": false, "tie_word_embeddings": true, "use_cache": true,
            "torch_dtype": torchDtype, "n_inner": NSNull(),
        ]
        if c.vocabSize > 50256 { obj["bos_token_id"] = 50256; obj["eos_token_id"] = 50256 }
        return try! JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    }
}

extension GPT {
    /// Loads a Hugging Face GPT-2 directory (`config.json` + `model.safetensors`).
    public static func loadHuggingFace(directory: String, pool: WorkerPool = .shared) throws -> GPT {
        let config = try HuggingFaceCheckpoint.readConfig(directory: directory)
        let path = directory + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelInputError("\(path): missing (only safetensors weights are read; convert pytorch_model.bin with save_pretrained(safe_serialization=True))")
        }
        let file = try SafeTensorsFile(path: path)
        let model = try GPT(config: config, pool: pool)
        if config.isLlama {
            try model.loadParameters(from: file)
            return model
        }
        if file.entries["transformer.wte.weight"] != nil {
            try model.loadParameters(from: file)
        } else if file.entries["wte.weight"] != nil {
            try model.loadParameters(from: RenamedSafeTensors(file: file, strip: "transformer."))
        } else {
            throw ModelInputError("\(path): no GPT-2 weights (expected transformer.wte.weight or wte.weight)")
        }
        return model
    }

    /// Saves as a Hugging Face directory that `GPT2LMHeadModel.from_pretrained` loads: `config.json`,
    /// `model.safetensors` in `dtype` (F32, F16 or BF16), and the tokenizer files found in
    /// `tokenizerDirectory`. Each file is replaced atomically.
    public func saveHuggingFace(directory: String, dtype: SafeTensorsDType = .f32, tokenizerDirectory: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Llama's tensors are split and transposed into Hugging Face's layout first (same count).
        let external = config.isLlama ? FloatBuffer(count: layout.count) : nil
        var tensors: [SafeTensorsWriter.Tensor] = []
        var cursor = 0
        for spec in layout.tensors {
            guard let external else {
                tensors.append(SafeTensorsWriter.Tensor(name: spec.name, shape: spec.shape,
                                                        values: UnsafeBufferPointer(parameters[spec.offset, spec.count]), dtype: dtype))
                continue
            }
            for part in LlamaTensorMap.parts(of: spec, config: config) {
                let n = part.shape.reduce(1, *)
                LlamaTensorMap.gather(parameters.base + spec.offset, part: part, spec: spec, into: external.base + cursor)
                tensors.append(SafeTensorsWriter.Tensor(name: part.name, shape: part.shape, values: UnsafeBufferPointer(external[cursor, n]),
                                                        dtype: dtype))
                cursor += n
            }
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: directory + "/model.safetensors")
        try AtomicFile.write(HuggingFaceCheckpoint.configJSON(config, dtype: dtype, special: specialTokens), to: directory + "/config.json")
        if let tok = tokenizerDirectory {
            for name in HuggingFaceCheckpoint.tokenizerFiles {
                let src = tok + "/" + name
                if let data = FileManager.default.contents(atPath: src) { try AtomicFile.write(data, to: directory + "/" + name) }
            }
        }
    }
}

/// Reads tensors of a checkpoint saved without the `transformer.` prefix under the prefixed names.
struct RenamedSafeTensors: ParameterSource {
    let file: SafeTensorsFile
    let strip: String
    var path: String { file.path }
    func entry(_ name: String) throws -> SafeTensorsFile.Entry { try file.entry(String(name.dropFirst(strip.count))) }
    func floats(_ name: String) throws -> [Float] { try file.floats(String(name.dropFirst(strip.count))) }
}
