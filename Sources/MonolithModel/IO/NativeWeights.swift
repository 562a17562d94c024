import MonolithGGUF
import MonolithKernels

/// The matrices of a GGUF model that run in the file's own block-quantized format (`--weights
/// native`), read in place from the memory-mapped file, as llama.cpp runs them.
///
/// A matrix runs natively when every GGUF tensor it is made of is Q4_0, Q4_1 or Q8_0; the rest
/// (norms, biases, F32/F16/K-quant matrices) are dequantized into the model's fp32 tensors as
/// ``GPT/loadGGUF(file:pool:)`` does. Natively run matrices are not loaded into the fp32
/// parameter buffer at all, so their pages are never touched: the process holds the file's
/// bytes once, not a 4–8× larger fp32 copy.
///
/// `attn_q` and `attn_k` rows are stored permuted for llama.cpp's interleaved rotary pairs; the
/// quantized rows are put back in Hugging Face order once at load (a row is a run of whole
/// blocks), so the block, its "rotate half" rotary and the KV cache are the same in every mode.
public struct NativeWeights {
    /// What each block's projections read.
    public let blocks: [DecodeBlockWeights]
    /// The token embedding, `[V, C]`, when it runs natively (input rows are dequantized from it).
    public let embedding: QuantizedMatrix?
    /// The output projection `[V, C]` (the embedding itself when tied), when it runs natively.
    public let head: QuantizedMatrix?
    /// Parameter offsets (``TensorSpec/offset``) of the tensors left out of the fp32 buffer.
    public let replaced: Set<Int>

    /// The natively runnable matrices of `file` for `layout` (which must be `GGUFModel.config(of: file)`'s).
    public init(file: GGUFFile, layout: ParameterLayout, config: GPTConfig) throws {
        func matrices(_ spec: TensorSpec) throws -> [(matrix: QuantizedMatrix, column: Int)]? {
            let parts = GGUFModel.parts(of: spec, config: config)
            let infos = try parts.map { try file.requireTensor(named: GGUFModel.tensorName($0.name)) }
            guard infos.allSatisfy({ QuantizedMatrix.supports($0.type) }) else { return nil }
            return try zip(parts, infos).map { part, info in
                guard info.shape == part.shape else {
                    throw GGUFError(file.path, offset: info.infoOffset, "tensor '\(info.name)' has shape \(info.shape), the model expects \(part.shape)")
                }
                guard let heads = part.ropeHeads else { return (try QuantizedMatrix(file: file, tensor: info), part.column) }
                return (Self.unpermutedRotaryRows(file: file, info: info, heads: heads), part.column)
            }
        }
        let specs = Dictionary(layout.tensors.map { ($0.offset, $0) }, uniquingKeysWith: { a, _ in a })
        var replaced = Set<Int>()
        func linear(_ offset: Int) throws -> DecodeLinear {
            guard let parts = try matrices(specs[offset]!) else { return .fp32 }
            replaced.insert(offset)
            return .quantized(parts)
        }
        blocks = try layout.blocks.map { b in
            DecodeBlockWeights(qkv: try linear(b.qkvw), attnProj: try linear(b.attnProjW), fc: try linear(b.fcW), fcProj: try linear(b.fcProjW))
        }
        embedding = try matrices(specs[layout.wte]!)?.first?.matrix
        if embedding != nil { replaced.insert(layout.wte) }
        if layout.lmHead == layout.wte {
            head = embedding
        } else {
            head = try matrices(specs[layout.lmHead]!)?.first?.matrix
            if head != nil { replaced.insert(layout.lmHead) }
        }
        self.replaced = replaced
    }

    /// A copy of `info`'s quantized rows with llama.cpp's per-head rotary permutation undone:
    /// within each head of `d` rows, GGUF row `2i` is Hugging Face row `i` and row `2i + 1` is
    /// row `i + d/2` (``LlamaTensorMap/permuteRotaryRows(_:heads:columns:toGGUF:)`` on whole rows).
    static func unpermutedRotaryRows(file: GGUFFile, info: GGUFTensorInfo, heads: Int) -> QuantizedMatrix {
        let rows = info.shape[0], cols = info.shape[1], d = rows / heads, half = d / 2
        let rowBytes = info.type.byteCount(elements: cols)
        let src = file.rawBytes(of: info)
        var bytes = [UInt8](repeating: 0, count: src.count)
        bytes.withUnsafeMutableBytes { dst in
            for h in 0..<heads {
                for i in 0..<half {
                    for (from, to) in [(2 * i, i), (2 * i + 1, i + half)] {
                        let s = (h * d + from) * rowBytes, t = (h * d + to) * rowBytes
                        dst.baseAddress!.advanced(by: t).copyMemory(from: src.baseAddress!.advanced(by: s), byteCount: rowBytes)
                    }
                }
            }
        }
        return bytes.withUnsafeBytes { QuantizedMatrix(copying: $0, type: info.type, rows: rows, cols: cols) }
    }
}

extension GPT {
    /// Loads a GGUF model for `--weights native`: the matrices that run quantized stay in the
    /// mapped file (``NativeWeights``), everything else is dequantized into fp32 as usual. The
    /// returned model's ``parameters`` hold zeros for the replaced tensors: it can decode through
    /// a native session but not train or run ``forward(ids:targets:batch:seqLen:lastPositionOnly:)``.
    public static func loadGGUFNative(file: GGUFFile, pool: WorkerPool = .shared) throws -> (GPT, NativeWeights) {
        let model = try GPT(config: try GGUFModel.config(of: file), pool: pool)
        let native = try NativeWeights(file: file, layout: model.layout, config: model.config)
        try model.loadParameters(from: file, skipping: native.replaced)
        model.specialTokens = (file.metadata["tokenizer.ggml.bos_token_id"]?.int, file.metadata["tokenizer.ggml.eos_token_id"]?.int)
        return (model, native)
    }
}
