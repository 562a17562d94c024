import Foundation
import MonolithGGUF
import MonolithKernels

/// GPT-2 and Llama models in GGUF files, as llama.cpp names and lays them out.
///
/// Every matrix is stored `[out, in]` (ggml dimensions `[in, out]`), as `convert_hf_to_gguf.py`
/// writes it: Hugging Face's `nn.Linear` weights as they are, GPT-2's Conv1D weights transposed.
/// Llama's `attn_q`/`attn_k` rows are permuted within each head for llama.cpp's interleaved
/// rotary pairs; loading undoes that and saving redoes it (``LlamaTensorMap``).
public enum GGUFModel {
    /// The GGUF tensor name of Hugging Face tensor `name`.
    public static func tensorName(_ name: String) -> String {
        var n = name
        for (hf, gg) in [("transformer.wte.", "token_embd."), ("transformer.wpe.", "position_embd."),
                         ("transformer.ln_f.", "output_norm."), ("model.embed_tokens.", "token_embd."),
                         ("model.norm.", "output_norm."), ("lm_head.", "output.")] where n.hasPrefix(hf) {
            return gg + n.dropFirst(hf.count)
        }
        for prefix in ["transformer.h.", "model.layers."] where n.hasPrefix(prefix) {
            n = "blk." + n.dropFirst(prefix.count)
        }
        for (hf, gg) in [(".ln_1.", ".attn_norm."), (".attn.c_attn.", ".attn_qkv."), (".attn.c_proj.", ".attn_output."),
                         (".ln_2.", ".ffn_norm."), (".mlp.c_fc.", ".ffn_up."), (".mlp.c_proj.", ".ffn_down."),
                         (".input_layernorm.", ".attn_norm."), (".self_attn.q_proj.", ".attn_q."), (".self_attn.k_proj.", ".attn_k."),
                         (".self_attn.v_proj.", ".attn_v."), (".self_attn.o_proj.", ".attn_output."),
                         (".post_attention_layernorm.", ".ffn_norm."), (".mlp.gate_proj.", ".ffn_gate."),
                         (".mlp.up_proj.", ".ffn_up."), (".mlp.down_proj.", ".ffn_down.")] {
            n = n.replacingOccurrences(of: hf, with: gg)
        }
        return n
    }

    /// The external tensors of internal tensor `spec`, with their `[out, in]` (or 1-D) shapes.
    static func parts(of spec: TensorSpec, config: GPTConfig) -> [LlamaTensorMap.Part] {
        if config.isLlama { return LlamaTensorMap.parts(of: spec, config: config) }
        // GPT-2: Conv1D matrices transposed; embeddings and vectors as they are.
        let matrix = spec.shape.count == 2 && !spec.name.hasSuffix("wte.weight") && !spec.name.hasSuffix("wpe.weight")
        return [LlamaTensorMap.Part(name: spec.name, shape: matrix ? [spec.shape[1], spec.shape[0]] : spec.shape, column: 0,
                                    ropeHeads: nil, transposed: matrix)]
    }

    /// The model configuration in `file`'s metadata (`general.architecture` `llama` or `gpt2`).
    public static func config(of file: GGUFFile) throws -> GPTConfig {
        let path = file.path
        guard let arch = file.architecture else { throw GGUFError(path, "metadata has no general.architecture") }
        guard arch == "llama" || arch == "gpt2" else {
            throw GGUFError(path, "general.architecture is '\(arch)'; Monolith runs \"llama\" and \"gpt2\" models")
        }
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            if file.metadata[arch + "." + key] == nil, let fallback { return fallback }
            return try file.int(arch + "." + key)
        }
        func float(_ key: String, _ fallback: Float) throws -> Float {
            file.metadata[arch + "." + key] == nil ? fallback : try file.float(arch + "." + key)
        }
        let embedding = try file.requireTensor(named: "token_embd.weight")
        let width = try int("embedding_length"), heads = try int("attention.head_count")
        guard embedding.dimensions.count == 2, embedding.dimensions[0] == width else {
            throw GGUFError(path, offset: embedding.infoOffset, "token_embd.weight has dimensions \(embedding.dimensions), expected [\(width), vocab]")
        }
        let vocab = embedding.dimensions[1]
        if let declared = file.metadata[arch + ".vocab_size"]?.int, declared != vocab {
            throw GGUFError(path, "\(arch).vocab_size is \(declared) but token_embd.weight has \(vocab) rows")
        }
        if let tokens = file.metadata["tokenizer.ggml.tokens"]?.array, tokens.count != vocab {
            throw GGUFError(path, "tokenizer.ggml.tokens has \(tokens.count) entries but the model's vocabulary (token_embd.weight) has \(vocab)")
        }
        var config: GPTConfig
        if arch == "llama" {
            if let scaling = file.metadata["llama.rope.scaling.type"]?.string, scaling != "none" {
                throw GGUFError(path, "llama.rope.scaling.type '\(scaling)' is not supported")
            }
            if let dims = file.metadata["llama.rope.dimension_count"]?.int, dims != width / max(heads, 1) {
                throw GGUFError(path, "llama.rope.dimension_count \(dims) differs from the head width \(width / max(heads, 1)); partial rotary is not supported")
            }
            config = .llama(nLayer: try int("block_count"), nHead: heads, kvHeads: try int("attention.head_count_kv", heads), nEmbd: width,
                            intermediateSize: try int("feed_forward_length"), vocabSize: vocab, contextLength: try int("context_length"),
                            rmsNormEps: try float("attention.layer_norm_rms_epsilon", 1e-5), ropeTheta: try float("rope.freq_base", 10000),
                            tieWordEmbeddings: file.tensor(named: "output.weight") == nil)
        } else {
            config = GPTConfig(nLayer: try int("block_count"), nHead: heads, nEmbd: width, vocabSize: vocab,
                               contextLength: try int("context_length"), layerNormEpsilon: try float("attention.layer_norm_epsilon", 1e-5))
            if try int("feed_forward_length", 4 * width) != 4 * width {
                throw GGUFError(path, "gpt2.feed_forward_length must be 4 × embedding_length for GPT-2")
            }
        }
        do { try config.validate() } catch let e as ConfigError {
            let key = ["num_key_value_heads": "attention.head_count_kv", "n_head": "attention.head_count", "n_embd": "embedding_length",
                       "n_layer": "block_count", "intermediate_size": "feed_forward_length"][e.field] ?? e.field
            throw GGUFError(path, "\(arch).\(key): \(e.message)")
        }
        return config
    }
}

extension GPT {
    /// Loads a GGUF model, dequantizing every tensor to fp32 (exact: the file's values, in fp32).
    public static func loadGGUF(path: String, pool: WorkerPool = .shared) throws -> GPT {
        try loadGGUF(file: GGUFFile(path: path), pool: pool)
    }

    /// Loads the model in an opened GGUF file, dequantized to fp32.
    public static func loadGGUF(file: GGUFFile, pool: WorkerPool = .shared) throws -> GPT {
        let model = try GPT(config: try GGUFModel.config(of: file), pool: pool)
        try model.loadParameters(from: file)
        model.specialTokens = (file.metadata["tokenizer.ggml.bos_token_id"]?.int, file.metadata["tokenizer.ggml.eos_token_id"]?.int)
        return model
    }

    /// Copies every parameter from a GGUF file laid out as llama.cpp's converter writes it, except
    /// the tensors at the offsets in `skipping` (left untouched: see ``NativeWeights``).
    public func loadParameters(from file: GGUFFile, skipping: Set<Int> = []) throws {
        for spec in layout.tensors where !skipping.contains(spec.offset) {
            for part in GGUFModel.parts(of: spec, config: config) {
                let name = GGUFModel.tensorName(part.name)
                let info = try file.requireTensor(named: name)
                guard info.shape == part.shape else {
                    throw GGUFError(file.path, offset: info.infoOffset, "tensor '\(name)' has shape \(info.shape), the model expects \(part.shape)")
                }
                var values = try file.floats(of: info)
                if let heads = part.ropeHeads {
                    values = LlamaTensorMap.permuteRotaryRows(values, heads: heads, columns: part.shape[1], toGGUF: false)
                }
                values.withUnsafeBufferPointer {
                    LlamaTensorMap.scatter($0.baseAddress!, part: part, into: parameters.base + spec.offset, spec: spec)
                }
            }
        }
    }

    /// Writes the model as a GGUF file llama.cpp runs: the architecture's metadata, `extra`
    /// metadata (the tokenizer's), and every tensor with matrices in `type` (F32, F16, BF16 or
    /// Q8_0) and vectors in F32, as llama.cpp's converter does.
    public func saveGGUF(path: String, type: GGMLType, name: String = "monolith", extra: [(String, GGUFValue)] = []) throws {
        let w = GGUFWriter()
        let arch = config.isLlama ? "llama" : "gpt2"
        try w.add("general.architecture", .string(arch))
        try w.add("general.name", .string(name))
        try w.add("general.file_type", .uint32(Self.fileType(type)))
        try w.add(arch + ".block_count", .uint32(UInt32(config.nLayer)))
        try w.add(arch + ".context_length", .uint32(UInt32(config.contextLength)))
        try w.add(arch + ".embedding_length", .uint32(UInt32(config.nEmbd)))
        try w.add(arch + ".feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        try w.add(arch + ".attention.head_count", .uint32(UInt32(config.nHead)))
        if config.isLlama {
            try w.add("llama.attention.head_count_kv", .uint32(UInt32(config.kvHeads)))
            try w.add("llama.rope.freq_base", .float32(config.ropeTheta))
            try w.add("llama.attention.layer_norm_rms_epsilon", .float32(config.layerNormEpsilon))
            try w.add("llama.rope.dimension_count", .uint32(UInt32(config.headDim)))
            try w.add("llama.vocab_size", .uint32(UInt32(config.vocabSize)))
        } else {
            try w.add("gpt2.attention.layer_norm_epsilon", .float32(config.layerNormEpsilon))
        }
        for (key, value) in extra { try w.add(key, value) }
        for spec in layout.tensors {
            for part in GGUFModel.parts(of: spec, config: config) {
                var values = [Float](repeating: 0, count: part.shape.reduce(1, *))
                values.withUnsafeMutableBufferPointer {
                    LlamaTensorMap.gather(parameters.base + spec.offset, part: part, spec: spec, into: $0.baseAddress!)
                }
                if let heads = part.ropeHeads {
                    values = LlamaTensorMap.permuteRotaryRows(values, heads: heads, columns: part.shape[1], toGGUF: true)
                }
                let ggufName = GGUFModel.tensorName(part.name)
                // Vectors stay F32 (llama.cpp's norms and biases); so do rows whose width the
                // block format cannot hold.
                let t: GGMLType = part.shape.count == 2 && part.shape[1] % type.blockSize == 0 ? type : .f32
                try w.addTensor(ggufName, dimensions: Array(part.shape.reversed()), type: t, values: values)
                // GPT-2's lm_head is the embedding; llama.cpp's converter writes it as `output`.
                if !config.isLlama, ggufName == "token_embd.weight" {
                    try w.addTensor("output.weight", dimensions: Array(part.shape.reversed()), type: t, values: values)
                }
            }
        }
        try w.write(to: path)
    }

    /// llama.cpp's `general.file_type` (`LLAMA_FTYPE_*`) for files whose matrices are `type`.
    static func fileType(_ type: GGMLType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q8_0: 7
        case .bf16: 32
        default: 0
        }
    }
}
