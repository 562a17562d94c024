/// Token plus learned position embedding, as GPT-2's `wte(ids) + wpe(positions)`; without `wpe`
/// (rotary models) just the token rows.
public enum Embedding {
    /// `output[b, t, :] = wte[ids[b, t], :] + wpe[positionOffset + t, :]`.
    public static func forward(output: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>,
                               wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>?,
                               batch b: Int, seqLen t: Int, channels c: Int, positionOffset: Int = 0,
                               pool: WorkerPool = .shared) {
        pool.parallelFor(b * t) { range in
            for r in range {
                let tok = Int(ids[r]), pos = positionOffset + r % t
                if let wpe { Residual.add(output: output + r * c, wte + tok * c, wpe + pos * c, count: c, pool: .serial) }
                else { (output + r * c).update(from: wte + tok * c, count: c) }
            }
        }
    }

    /// `dwte[ids] += doutput`, `dwpe[t] += Σ_b doutput[b, t]`.
    ///
    /// Serial over rows because two rows may hold the same token; it is a few hundred thousand adds,
    /// noise next to the GEMMs.
    public static func backward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>?,
                                doutput: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
                                batch b: Int, seqLen t: Int, channels c: Int, positionOffset: Int = 0) {
        for r in 0..<b * t {
            let tok = Int(ids[r]), pos = positionOffset + r % t
            let d = doutput + r * c
            Residual.add(output: dwte + tok * c, dwte + tok * c, d, count: c, pool: .serial)
            if let dwpe { Residual.add(output: dwpe + pos * c, dwpe + pos * c, d, count: c, pool: .serial) }
        }
    }
}
