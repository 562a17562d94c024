import MonolithKernels

/// Saved activations of one transformer block, as pointers into ``Activations``' buffer.
public struct BlockActivations {
    public let ln1, ln1Mean, ln1Rstd, qkv, probs, atty, res1, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res2: UnsafeMutablePointer<Float>
}

/// Every activation a forward/backward pass needs for batches up to `batch × seqLen`, carved out of
/// one allocation that is made once and reused each step (first touch costs ~3 s/GiB here).
///
/// Shape letters: B batch, T sequence, C width, V vocabulary, H heads.
public final class Activations {
    /// Capacity this set was sized for.
    public let batch: Int, seqLen: Int
    let buffer: FloatBuffer
    /// Per-block saved tensors.
    public let blocks: [BlockActivations]
    /// Embedding output `[B,T,C]`, final LayerNorm output and statistics, logits `[B,T,V]`.
    public let encoded, lnf, lnfMean, lnfRstd, logits, losses, logSumExp: UnsafeMutablePointer<Float>
    /// Backward temporaries, shared by all blocks: `dresidual`/`dln` `[B,T,C]`, `dqkv` `[B,T,3C]`,
    /// `datty` `[B,T,C]`, `dfch` `[B,T,4C]`, plus per-thread kernel scratch.
    public let dresidual, dln, dqkv, datty, dfch, branch, attnScratch, lnScratch: UnsafeMutablePointer<Float>

    /// Total floats held.
    public var count: Int { buffer.count }

    /// Sizes and allocates activations for `config` at up to `batch × seqLen` tokens.
    public init(config: GPTConfig, batch b: Int, seqLen t: Int, pool: WorkerPool = .shared) {
        batch = b; seqLen = t
        let c = config.nEmbd, n = b * t, h = config.nHead, v = config.vocabSize
        let perBlock = [n * c, n, n, 3 * n * c, b * h * t * t, n * c, n * c, n * c, n, n, 4 * n * c, 4 * n * c, n * c]
        let head = [n * c, n * c, n, n, n * v, n, n]
        let temps = [n * c, n * c, 3 * n * c, n * c, 4 * n * c, n * c,
                     Attention.scratchCount(seqLen: t, pool: pool), LayerNorm.scratchCount(channels: c, pool: pool)]
        // Round every piece to 16 floats so each tensor starts 64-byte aligned.
        let round = { (x: Int) in (x + 15) / 16 * 16 }
        let total = config.nLayer * perBlock.map(round).reduce(0, +) + head.map(round).reduce(0, +) + temps.map(round).reduce(0, +)
        buffer = FloatBuffer(count: total)
        var cursor = buffer.base
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { cursor += round(k) }; return cursor }
        blocks = (0..<config.nLayer).map { _ in
            let p = perBlock.map { take($0) }
            return BlockActivations(ln1: p[0], ln1Mean: p[1], ln1Rstd: p[2], qkv: p[3], probs: p[4], atty: p[5],
                                    res1: p[6], ln2: p[7], ln2Mean: p[8], ln2Rstd: p[9], fch: p[10], fchGelu: p[11], res2: p[12])
        }
        let hp = head.map { take($0) }
        encoded = hp[0]; lnf = hp[1]; lnfMean = hp[2]; lnfRstd = hp[3]; logits = hp[4]; losses = hp[5]; logSumExp = hp[6]
        let tp = temps.map { take($0) }
        dresidual = tp[0]; dln = tp[1]; dqkv = tp[2]; datty = tp[3]; dfch = tp[4]; branch = tp[5]
        attnScratch = tp[6]; lnScratch = tp[7]
    }
}
