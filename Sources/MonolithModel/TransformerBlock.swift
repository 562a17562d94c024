import MonolithKernels

/// Pointers to one block's tensors inside a flat buffer (parameters or their gradients).
public struct BlockTensors {
    public let ln1w, ln1b, qkvw, qkvb, attnProjW, attnProjB, ln2w, ln2b, fcW, fcB, fcProjW, fcProjB: UnsafeMutablePointer<Float>

    /// Views of block `o` inside the buffer starting at `base`.
    public init(base: UnsafeMutablePointer<Float>, offsets o: BlockOffsets) {
        ln1w = base + o.ln1w; ln1b = base + o.ln1b; qkvw = base + o.qkvw; qkvb = base + o.qkvb
        attnProjW = base + o.attnProjW; attnProjB = base + o.attnProjB; ln2w = base + o.ln2w; ln2b = base + o.ln2b
        fcW = base + o.fcW; fcB = base + o.fcB; fcProjW = base + o.fcProjW; fcProjB = base + o.fcProjB
    }
}

/// Sizes a block runs at. For a tensor-parallel shard, `heads` is the local head count.
public struct BlockShape {
    /// Batch, sequence length, residual width, local heads, head width.
    public let batch, seqLen, channels, heads, headDim: Int
    /// LayerNorm epsilon.
    public let eps: Float
    /// Tokens in the batch.
    public var rows: Int { batch * seqLen }

    /// A shape; `heads` is the local head count for a tensor-parallel shard.
    public init(batch: Int, seqLen: Int, channels: Int, heads: Int, headDim: Int, eps: Float) {
        self.batch = batch; self.seqLen = seqLen; self.channels = channels; self.heads = heads; self.headDim = headDim
        self.eps = eps
    }
}

/// One pre-LayerNorm GPT-2 block: `x + attn(ln_1(x))`, then `+ mlp(ln_2(·))`.
public enum TransformerBlock {
    /// Dropout sites of a block, with per-step seeds.
    public struct DropoutSites: Sendable {
        public let attention, attnResidual, mlpResidual: Dropout
        public static let none = DropoutSites(attention: Dropout(p: 0, seed: 0), attnResidual: Dropout(p: 0, seed: 0),
                                              mlpResidual: Dropout(p: 0, seed: 0))
        public init(attention: Dropout, attnResidual: Dropout, mlpResidual: Dropout) {
            self.attention = attention; self.attnResidual = attnResidual; self.mlpResidual = mlpResidual
        }

        /// The sites of block `layer` for micro-batch `step` (sites 1–3 of the layer; the embedding
        /// is site 0 of layer `n_layer`, ``embedding(p:seed:step:layers:)``). Every model that must
        /// draw the same masks — ``GPT`` and a model-parallel shard — derives them here.
        public static func layer(_ layer: Int, p: Float, seed: UInt64, step: Int) -> DropoutSites {
            guard p > 0 else { return .none }
            let site = { (k: Int) in Dropout(p: p, seed: Dropout.seed(base: seed, step: step, layer: layer, site: k)) }
            return DropoutSites(attention: site(1), attnResidual: site(2), mlpResidual: site(3))
        }

        /// The embedding-output site for micro-batch `step` of a model with `layers` blocks.
        public static func embedding(p: Float, seed: UInt64, step: Int, layers: Int) -> Dropout {
            Dropout(p: p, seed: Dropout.seed(base: seed, step: step, layer: layers, site: 0))
        }
    }

    /// Runs the block on `input` (`[B,T,C]`), saving what backward needs in `a`; output in `a.res2`.
    public static func forward(input: UnsafePointer<Float>, w: BlockTensors, a: BlockActivations, s: BlockShape,
                               dropout: DropoutSites, branch: UnsafeMutablePointer<Float>,
                               attnScratch: UnsafeMutablePointer<Float>, pool: WorkerPool = .shared) {
        let n = s.rows, c = s.channels
        LayerNorm.forward(output: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input: input, weight: w.ln1w,
                          bias: w.ln1b, rows: n, channels: c, eps: s.eps, pool: pool)
        Linear.forward(output: a.qkv, input: a.ln1, weight: w.qkvw, bias: w.qkvb, rows: n, inFeatures: c,
                       outFeatures: 3 * c, pool: pool)
        Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: s.batch, seqLen: s.seqLen,
                          heads: s.heads, headDim: s.headDim, dropout: dropout.attention, scratch: attnScratch, pool: pool)
        residualBranch(output: a.res1, residual: input, x: a.atty, weight: w.attnProjW, bias: w.attnProjB,
                       rows: n, inFeatures: c, outFeatures: c, dropout: dropout.attnResidual, branch: branch, pool: pool)
        LayerNorm.forward(output: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, input: a.res1, weight: w.ln2w,
                          bias: w.ln2b, rows: n, channels: c, eps: s.eps, pool: pool)
        Linear.forward(output: a.fch, input: a.ln2, weight: w.fcW, bias: nil, rows: n, inFeatures: c,
                       outFeatures: 4 * c, pool: pool)
        GELU.forward(output: a.fchGelu, input: a.fch, bias: w.fcB, rows: n, cols: 4 * c, pool: pool)
        residualBranch(output: a.res2, residual: a.res1, x: a.fchGelu, weight: w.fcProjW, bias: w.fcProjB,
                       rows: n, inFeatures: 4 * c, outFeatures: c, dropout: dropout.mlpResidual, branch: branch, pool: pool)
    }

    /// `output = residual + dropout(x · W + b)`. Without dropout the residual and bias pre-fill the
    /// output and the GEMM accumulates onto it, saving a pass over `[B,T,C]`.
    static func residualBranch(output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>,
                               x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, inFeatures: Int, outFeatures: Int, dropout: Dropout,
                               branch: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        if dropout.isActive {
            Linear.forward(output: branch, input: x, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures,
                           outFeatures: outFeatures, pool: pool)
            dropout.apply(branch, count: rows * outFeatures, pool: pool)
            Residual.add(output: output, residual, branch, count: rows * outFeatures, pool: pool)
        } else {
            Residual.copyAddingBias(output: output, input: residual, bias: bias, rows: rows, cols: outFeatures, pool: pool)
            Linear.forward(output: output, input: x, weight: weight, bias: nil, rows: rows, inFeatures: inFeatures,
                           outFeatures: outFeatures, accumulate: true, pool: pool)
        }
    }

    /// Given `dresidual` = ∂L/∂(block output), accumulates parameter gradients into `g` and
    /// overwrites `dresidual` with ∂L/∂(block input). `temps` are the shared backward buffers.
    public static func backward(dresidual: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                w: BlockTensors, g: BlockTensors, a: BlockActivations, s: BlockShape,
                                dropout: DropoutSites, temps: Activations, pool: WorkerPool = .shared) {
        let n = s.rows, c = s.channels
        let dbranch: UnsafeMutablePointer<Float>
        // MLP branch. Dropout's backward is the same mask applied to the incoming gradient.
        if dropout.mlpResidual.isActive {
            temps.branch.update(from: dresidual, count: n * c)
            dropout.mlpResidual.apply(temps.branch, count: n * c, pool: pool)
            dbranch = temps.branch
        } else {
            dbranch = dresidual
        }
        Linear.backward(dinput: temps.dfch, dweight: g.fcProjW, dbias: g.fcProjB, doutput: dbranch,
                        input: a.fchGelu, weight: w.fcProjW, rows: n, inFeatures: 4 * c, outFeatures: c, pool: pool)
        GELU.backward(dinput: temps.dfch, doutput: temps.dfch, input: a.fch, count: n * 4 * c, pool: pool)
        Linear.backward(dinput: temps.dln, dweight: g.fcW, dbias: g.fcB, doutput: temps.dfch,
                        input: a.ln2, weight: w.fcW, rows: n, inFeatures: c, outFeatures: 4 * c, pool: pool)
        LayerNorm.backward(dinput: dresidual, dweight: g.ln2w, dbias: g.ln2b, doutput: temps.dln, input: a.res1,
                           weight: w.ln2w, mean: a.ln2Mean, rstd: a.ln2Rstd, rows: n, channels: c,
                           scratch: temps.lnScratch, pool: pool)
        // Attention branch.
        let dattn: UnsafeMutablePointer<Float>
        if dropout.attnResidual.isActive {
            temps.branch.update(from: dresidual, count: n * c)
            dropout.attnResidual.apply(temps.branch, count: n * c, pool: pool)
            dattn = temps.branch
        } else {
            dattn = dresidual
        }
        Linear.backward(dinput: temps.datty, dweight: g.attnProjW, dbias: g.attnProjB, doutput: dattn,
                        input: a.atty, weight: w.attnProjW, rows: n, inFeatures: c, outFeatures: c, pool: pool)
        Attention.backward(dqkv: temps.dqkv, doutput: temps.datty, qkv: a.qkv, probs: a.probs, batch: s.batch,
                           seqLen: s.seqLen, heads: s.heads, headDim: s.headDim, dropout: dropout.attention,
                           scratch: temps.attnScratch, pool: pool)
        Linear.backward(dinput: temps.dln, dweight: g.qkvw, dbias: g.qkvb, doutput: temps.dqkv,
                        input: a.ln1, weight: w.qkvw, rows: n, inFeatures: c, outFeatures: 3 * c, pool: pool)
        LayerNorm.backward(dinput: dresidual, dweight: g.ln1w, dbias: g.ln1b, doutput: temps.dln, input: input,
                           weight: w.ln1w, mean: a.ln1Mean, rstd: a.ln1Rstd, rows: n, channels: c,
                           scratch: temps.lnScratch, pool: pool)
    }
}
