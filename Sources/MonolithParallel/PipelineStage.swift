import MonolithKernels
import MonolithModel

/// One pipeline stage's share of a GPT: runs its chunks' layers for each micro-batch as a
/// ``PipelineRunner`` walks the 1F1B (or interleaved) plan.
///
/// Weights and gradients are the full ``GPT``'s flat buffers (replicated over the pipeline group
/// for now): a stage touches only its layers, plus the embeddings on the first virtual stage and
/// the final LayerNorm and the tied `lm_head` on the last. Summing the gradient buffers over the
/// pipeline group afterwards therefore gives the full gradient, and it adds the first and last
/// stages' contributions to the tied `wte`, which is exactly the embedding-group all-reduce that
/// keeps the two copies identical.
///
/// Activations are kept per (micro-batch, chunk), one ``Activations`` set each, rather than per
/// in-flight micro-batch: simple and correct, but memory is `m·v` sets instead of 1F1B's `p − s`.
public final class PipelineStage {
    /// The replicated model.
    public let model: GPT
    /// The plan of this stage.
    public let schedule: PipelineSchedule
    let grid: ProcessGrid
    let acts: [Activations]
    let batch: Int, seqLen: Int
    /// Counted tokens of each micro-batch's loss (last virtual stage only).
    var counts: [Int]
    /// Sum of the micro-batch mean losses computed on this stage (non-zero on the last stage only).
    public private(set) var lossSum: Float = 0

    /// A stage for micro-batches of `batch × seqLen` tokens.
    public init(model: GPT, grid: ProcessGrid, schedule: PipelineSchedule, batch: Int, seqLen: Int) {
        precondition(model.config.dropout == 0, "pipeline stages need dropout 0 for now")
        self.model = model; self.grid = grid; self.schedule = schedule; self.batch = batch; self.seqLen = seqLen
        // One set per (micro-batch, chunk): each chunk's input (`encoded`) must survive until its backward.
        acts = (0..<schedule.microBatches * schedule.virtualStages).map { _ in
            Activations(config: model.config, batch: batch, seqLen: seqLen, pool: model.pool)
        }
        counts = Array(repeating: 0, count: schedule.microBatches)
    }

    var shape: BlockShape {
        let c = model.config
        return BlockShape(batch: batch, seqLen: seqLen, channels: c.nEmbd, heads: c.nHead, headDim: c.nEmbd / c.nHead,
                          eps: c.layerNormEpsilon)
    }

    func layers(_ chunk: Int) -> Range<Int> {
        grid.layers(stage: schedule.stage, chunk: chunk, virtualStages: schedule.virtualStages, layerCount: model.config.nLayer)
    }
    func isFirst(_ chunk: Int) -> Bool { schedule.stage == 0 && chunk == 0 }
    func isLast(_ chunk: Int) -> Bool { schedule.stage == schedule.stages - 1 && chunk == schedule.virtualStages - 1 }

    /// Runs the step's micro-batches (`ids`/`targets` per micro-batch) over `group`, accumulating
    /// `lossScale`-scaled gradients into the model's gradient buffer (which the caller zeroes first
    /// and sums over the pipeline group afterwards).
    public func run(ids: [[Int32]], targets: [[Int32]], lossScale: Float, group: any Communicator) throws {
        lossSum = 0
        let n = batch * seqLen, c = model.config.nEmbd
        let runner = PipelineRunner(schedule: schedule, group: group, activationCount: n * c)
        try runner.run(forward: { action, input, output in
            let a = acts[action.microBatch * schedule.virtualStages + action.chunk]
            if let input { a.encoded.update(from: input.baseAddress!, count: n * c) }
            else {
                ids[action.microBatch].withUnsafeBufferPointer {
                    Embedding.forward(output: a.encoded, ids: $0.baseAddress!, wte: model.parameters.base + model.layout.wte,
                                      wpe: model.parameters.base + model.layout.wpe, batch: batch, seqLen: seqLen, channels: c,
                                      pool: model.pool)
                }
            }
            var x = UnsafePointer(a.encoded)
            for l in layers(action.chunk) {
                TransformerBlock.forward(input: x, w: model.blockWeights(l), a: a.blocks[l], s: shape, dropout: .none,
                                         branch: a.branch, attnScratch: a.attnScratch, pool: model.pool)
                x = UnsafePointer(a.blocks[l].res2)
            }
            if isLast(action.chunk) { lossSum += head(a, x: x, microBatch: action.microBatch, targets: targets[action.microBatch]) }
            else { output.baseAddress!.update(from: x, count: n * c) }
        }, backward: { action, outputGradient, inputGradient in
            let a = acts[action.microBatch * schedule.virtualStages + action.chunk], range = layers(action.chunk)
            let x = range.isEmpty ? UnsafePointer(a.encoded) : UnsafePointer(a.blocks[range.upperBound - 1].res2)
            if let outputGradient { a.dresidual.update(from: outputGradient.baseAddress!, count: n * c) }
            else { headBackward(a, x: x, microBatch: action.microBatch, lossScale: lossScale, targets: targets[action.microBatch]) }
            for l in range.reversed() {
                let input = l == range.lowerBound ? UnsafePointer(a.encoded) : UnsafePointer(a.blocks[l - 1].res2)
                TransformerBlock.backward(dresidual: a.dresidual, input: input, w: model.blockWeights(l), g: model.blockGradients(l),
                                          a: a.blocks[l], s: shape, dropout: .none, temps: a, pool: model.pool)
            }
            if isFirst(action.chunk) {
                ids[action.microBatch].withUnsafeBufferPointer {
                    Embedding.backward(dwte: model.gradients.base + model.layout.wte, dwpe: model.gradients.base + model.layout.wpe,
                                       doutput: a.dresidual, ids: $0.baseAddress!, batch: batch, seqLen: seqLen, channels: c)
                }
            } else {
                inputGradient.baseAddress!.update(from: a.dresidual, count: n * c)
            }
        })
    }

    /// Final LayerNorm, tied `lm_head` and cross-entropy, as ``GPT/forward(ids:targets:batch:seqLen:lastPositionOnly:)``.
    func head(_ a: Activations, x: UnsafePointer<Float>, microBatch: Int, targets: [Int32]) -> Float {
        let n = batch * seqLen, c = model.config.nEmbd, v = model.config.vocabSize, p = model.parameters.base, L = model.layout
        LayerNorm.forward(output: a.lnf, mean: a.lnfMean, rstd: a.lnfRstd, input: x, weight: p + L.lnfW, bias: p + L.lnfB,
                          rows: n, channels: c, eps: model.config.layerNormEpsilon, pool: model.pool)
        gemm(transB: true, m: n, n: v, k: c, a: a.lnf, lda: c, b: p + L.wte, ldb: c, beta: 0, c: a.logits, ldc: v, pool: model.pool)
        let (sum, count) = targets.withUnsafeBufferPointer {
            CrossEntropy.forward(losses: a.losses, logSumExp: a.logSumExp, logits: a.logits, targets: $0.baseAddress!, rows: n,
                                 vocab: v, stride: v, pool: model.pool)
        }
        counts[microBatch] = count
        return count > 0 ? Float(sum / Double(count)) : 0
    }

    /// Backward of the head into `a.dresidual`, as ``GPT/backward(lossScale:gradientsReady:)``.
    func headBackward(_ a: Activations, x: UnsafePointer<Float>, microBatch: Int, lossScale: Float, targets: [Int32]) {
        let n = batch * seqLen, c = model.config.nEmbd, v = model.config.vocabSize
        let p = model.parameters.base, g = model.gradients.base, L = model.layout
        let count = counts[microBatch]
        let scale = count > 0 ? lossScale / Float(count) : 0
        targets.withUnsafeBufferPointer {
            CrossEntropy.backward(logits: a.logits, logSumExp: a.logSumExp, targets: $0.baseAddress!, rows: n, vocab: v, stride: v,
                                  scale: scale, pool: model.pool)
        }
        gemm(transA: true, m: v, n: c, k: n, a: a.logits, lda: v, b: a.lnf, ldb: c, beta: 1, c: g + L.wte, ldc: c, pool: model.pool)
        gemm(m: n, n: c, k: v, a: a.logits, lda: v, b: p + L.wte, ldb: c, beta: 0, c: a.dln, ldc: c, pool: model.pool)
        a.dresidual.update(repeating: 0, count: n * c)
        LayerNorm.backward(dinput: a.dresidual, dweight: g + L.lnfW, dbias: g + L.lnfB, doutput: a.dln, input: x, weight: p + L.lnfW,
                           mean: a.lnfMean, rstd: a.lnfRstd, rows: n, channels: c, scratch: a.lnScratch, pool: model.pool)
    }
}
