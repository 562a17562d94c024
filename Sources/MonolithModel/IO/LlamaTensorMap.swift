import MonolithKernels

/// How Monolith's fused Llama tensors (``ParameterLayout``) correspond to the separate tensors of
/// Hugging Face's `LlamaForCausalLM` and of GGUF files.
///
/// Hugging Face stores `nn.Linear` weights `[out, in]`; Monolith stores `[in, out]` and fuses
/// `q | k | v` and `gate | up` side by side, so each external matrix is a transposed block of
/// columns of an internal one. GGUF (llama.cpp's `convert_hf_to_gguf.py`) additionally permutes
/// the rows of `q` and `k` within each head so that rotary pairs are adjacent (interleaved); the
/// GGUF side undoes that permutation, so only the "rotate half" convention runs.
public enum LlamaTensorMap {
    /// One external tensor: its Hugging Face name and `[out, in]` (or 1-D) shape, the first internal
    /// column it fills, and — for `q`/`k` — the number of heads its rows are grouped in.
    public struct Part: Sendable {
        public let name: String
        public let shape: [Int]
        public let column: Int
        public let ropeHeads: Int?
        /// Whether it is stored transposed relative to the internal tensor (the 2-D projections).
        public let transposed: Bool
    }

    /// The external tensors that make up internal tensor `spec` of `config`.
    public static func parts(of spec: TensorSpec, config: GPTConfig) -> [Part] {
        let c = config.nEmbd, kv = config.kvWidth, i = config.intermediateSize
        let name = spec.name
        func part(_ n: String, _ shape: [Int], _ column: Int = 0, rope: Int? = nil) -> Part {
            Part(name: n, shape: shape, column: column, ropeHeads: rope, transposed: shape.count == 2)
        }
        if name.hasSuffix("self_attn.qkv_proj.weight") {
            let p = String(name.dropLast("qkv_proj.weight".count))
            return [part(p + "q_proj.weight", [c, c], 0, rope: config.nHead), part(p + "k_proj.weight", [kv, c], c, rope: config.kvHeads),
                    part(p + "v_proj.weight", [kv, c], c + kv)]
        }
        if name.hasSuffix("mlp.gate_up_proj.weight") {
            let p = String(name.dropLast("gate_up_proj.weight".count))
            return [part(p + "gate_proj.weight", [i, c], 0), part(p + "up_proj.weight", [i, c], i)]
        }
        if name.hasSuffix("self_attn.o_proj.weight") || name.hasSuffix("mlp.down_proj.weight") {
            return [part(name, [spec.shape[1], spec.shape[0]])]
        }
        // Embeddings, lm_head and norms are stored alike.
        return [Part(name: name, shape: spec.shape, column: 0, ropeHeads: nil, transposed: false)]
    }

    /// Writes external tensor `part` (`values`, row-major in its own shape) into internal tensor
    /// `spec` at `dst`.
    public static func scatter(_ values: UnsafePointer<Float>, part: Part, into dst: UnsafeMutablePointer<Float>, spec: TensorSpec) {
        guard part.transposed else { dst.update(from: values, count: part.shape.reduce(1, *)); return }
        let outs = part.shape[0], ins = part.shape[1], width = spec.shape[1]
        for o in 0..<outs {
            let row = values + o * ins
            for k in 0..<ins { dst[k * width + part.column + o] = row[k] }
        }
    }

    /// Reads external tensor `part` out of internal tensor `spec` at `src` into `out` (row-major).
    public static func gather(_ src: UnsafePointer<Float>, part: Part, spec: TensorSpec, into out: UnsafeMutablePointer<Float>) {
        guard part.transposed else { out.update(from: src, count: part.shape.reduce(1, *)); return }
        let outs = part.shape[0], ins = part.shape[1], width = spec.shape[1]
        for o in 0..<outs {
            let row = out + o * ins
            for k in 0..<ins { row[k] = src[k * width + part.column + o] }
        }
    }

    /// llama.cpp's `permute` of q/k rows (HF "rotate half" order → GGUF interleaved pairs), or its
    /// inverse: within each head of `d` rows, HF row `half·d/2 + i` is GGUF row `2i + half`.
    public static func permuteRotaryRows(_ x: [Float], heads: Int, columns: Int, toGGUF: Bool) -> [Float] {
        let rows = x.count / columns, d = rows / heads, half = d / 2
        var y = [Float](repeating: 0, count: x.count)
        for h in 0..<heads {
            for part in 0..<2 {
                for i in 0..<half {
                    let hf = h * d + part * half + i, gg = h * d + 2 * i + part
                    let (from, to) = toGGUF ? (hf, gg) : (gg, hf)
                    for k in 0..<columns { y[to * columns + k] = x[from * columns + k] }
                }
            }
        }
        return y
    }
}
