#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embeddings in Hugging Face's "rotate half" convention (`LlamaRotaryEmbedding`
/// + `apply_rotary_pos_emb`): within each head, element `i` and `i + d/2` rotate together by
/// `pos · θ^(−2i/d)`. GGUF files store q/k rows permuted for llama.cpp's interleaved pairs; the
/// loader undoes that permutation, so only this convention runs.
///
/// The table holds `cos` and `sin` for `[positions, d/2]`, computed as transformers does in fp32:
/// `inv_freq = 1 / θ^(2i/d)`, `angle = pos · inv_freq`.
public final class RotaryEmbedding: @unchecked Sendable {
    /// Head width and positions covered.
    public let headDim: Int, positions: Int
    let table: FloatBuffer

    /// A table for heads of width `headDim` (even) and positions `0..<positions`.
    public init(headDim d: Int, positions: Int, theta: Float) {
        precondition(d % 2 == 0, "rotary embeddings need an even head width")
        headDim = d; self.positions = positions
        let half = d / 2
        table = FloatBuffer(count: 2 * positions * half)
        let invFreq = (0..<half).map { i in Float(1.0 / pow(Double(theta), Double(Float(2 * i) / Float(d)))) }
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Float(p) * invFreq[i]
                table.base[(2 * p) * half + i] = Float(cos(Double(angle)))
                table.base[(2 * p + 1) * half + i] = Float(sin(Double(angle)))
            }
        }
    }

    /// Rotates `heads` heads of width `d` laid side by side at `x` (one row) to `position`;
    /// `inverse` rotates back (the backward of the rotation, a rotation by the negative angle).
    @inline(__always)
    public func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, inverse: Bool = false) {
        let half = headDim / 2
        let cs = table.base + 2 * position * half, sn = cs + half
        let sign: Float = inverse ? -1 : 1
        for h in 0..<heads {
            let a = x + h * headDim, b = a + half
            for i in 0..<half {
                let x1 = a[i], x2 = b[i], s = sign * sn[i]
                a[i] = x1 * cs[i] - x2 * s
                b[i] = x2 * cs[i] + x1 * s
            }
        }
    }

    /// Rotates the query and key heads of every row of a `[B·T, qkvWidth]` matrix whose rows are
    /// `[q heads | k heads | v heads]`; row `r` sits at position `r mod seqLen`.
    public func apply(_ qkv: UnsafeMutablePointer<Float>, rows: Int, seqLen: Int, queryHeads: Int, keyHeads: Int,
                      inverse: Bool = false, pool: WorkerPool = .shared) {
        let ld = (queryHeads + 2 * keyHeads) * headDim
        pool.parallelFor(rows) { range in
            for r in range { self.rotate(qkv + r * ld, heads: queryHeads + keyHeads, position: r % seqLen, inverse: inverse) }
        }
    }
}
