/// One step of a pipeline stage's plan: run a model chunk forward or backward on one micro-batch,
/// receiving its input first and sending its output after.
public struct PipelineAction: Sendable, Equatable, CustomStringConvertible {
    /// Forward or backward.
    public enum Kind: Sendable, Equatable { case forward, backward }

    /// Forward or backward.
    public let kind: Kind
    /// Micro-batch index, `0 ..< m`.
    public let microBatch: Int
    /// Model chunk on this stage, `0 ..< v` (always 0 without interleaving).
    public let chunk: Int
    /// Where the input comes from before computing: the activation from the previous virtual
    /// stage (forward) or the output gradient from the next (backward). `nil` on the first virtual
    /// stage's forward (it reads tokens) and the last one's backward (it starts from the loss).
    public let receive: PipelineTransfer?
    /// Where the result goes after computing; `nil` when this is the pipeline's end.
    public let send: PipelineTransfer?

    /// `F3` / `B3`, with the chunk when interleaving: `F3.1`.
    public var description: String {
        (kind == .forward ? "F" : "B") + "\(microBatch)" + (chunk > 0 || isChunked ? ".\(chunk)" : "")
    }
    let isChunked: Bool
}

/// A point-to-point transfer implied by a ``PipelineAction``: the peer's stage (its rank in the
/// pipeline group) and a tag unique to (micro-batch, stage boundary, direction), so receives can
/// be posted early without any risk of matching the wrong message.
public struct PipelineTransfer: Sendable, Equatable {
    /// Stage (pipeline-group rank) of the other side.
    public let peer: Int
    /// MPI tag: `2 · (microBatch · V + boundary) + (gradient ? 1 : 0)` with `V = pp · v` virtual
    /// stages and `boundary` the virtual stage that produces the activation.
    public let tag: Int
}

/// The ordered plan of one pipeline stage for one optimizer step: a pure value, with no
/// communication, that the trainer walks and that tests and ``PipelineSimulation`` check.
///
/// **1F1B** (PipeDream-Flush, Megatron's `forward_backward_pipelining_without_interleaving`), for
/// stage `s` of `p` with `m` micro-batches:
/// - warm-up: `min(p − s − 1, m)` forwards, which fill the pipeline downstream;
/// - steady state: one forward then one backward, until every forward has run;
/// - cool-down: the remaining backwards.
///
/// At most `p − s` micro-batches are in flight on a stage (memory independent of `m`), and with
/// equal unit-time forwards and backwards the idle fraction (bubble) is `(p − 1) / m`.
///
/// **Interleaved 1F1B** (Megatron-Core's `forward_backward_pipelining_with_interleaving`): each
/// stage holds `v` model chunks, chunk `c` of stage `s` being virtual stage `c · p + s`. Forwards
/// run in groups of `p` micro-batches per chunk (micro-batches 0…p−1 through chunk 0, then
/// through chunk 1, …, then the next group); backwards follow the same table with the chunks
/// reversed. Warm-up is `(p − s − 1) · 2 + (v − 1) · p` forwards (capped at `m · v`), then 1F1B,
/// then cool-down. It needs `m % p == 0`, and cuts the bubble to `(p − 1) / (v · m)` at the cost
/// of `v` times the point-to-point traffic.
///
/// ```swift
/// let plan = try PipelineSchedule(stages: 4, microBatches: 8, stage: 1)
/// plan.actions.map(\.description)   // F0 F1 F2 B0 F3 B1 … B7 (2 warm-up forwards)
/// ```
public struct PipelineSchedule: Sendable, Equatable {
    /// Pipeline stages `p`.
    public let stages: Int
    /// Micro-batches per step `m`.
    public let microBatches: Int
    /// Model chunks per stage `v` (1: plain 1F1B).
    public let virtualStages: Int
    /// The stage this plan is for.
    public let stage: Int
    /// Forwards before the first backward.
    public let warmup: Int
    /// The plan, in execution order.
    public internal(set) var actions: [PipelineAction]

    /// Plans `stage`'s step. Throws when the sizes do not allow the schedule.
    public init(stages: Int, microBatches: Int, virtualStages: Int = 1, stage: Int) throws(LayoutError) {
        let (p, m, v) = (stages, microBatches, virtualStages)
        for (name, value) in [("pp", p), ("micro-batches", m), ("virtual stages", v)] where value < 1 {
            throw LayoutError(constraint: "\(name) ≥ 1", detail: "\(name) is \(value)")
        }
        guard stage >= 0 && stage < p else { throw LayoutError(constraint: "0 ≤ stage < pp", detail: "stage \(stage) with pp = \(p)") }
        if v > 1 && p == 1 { throw LayoutError(constraint: "virtual stages > 1 needs pp > 1", detail: "virtual stages is \(v) with pp = 1") }
        if v > 1 && m % p != 0 {
            throw LayoutError(constraint: "micro-batches % pp == 0 (interleaved 1F1B)",
                              detail: "\(m) micro-batches is not a multiple of pp = \(p)")
        }
        if 2 * m * p * v > 32768 {
            throw LayoutError(constraint: "2 · micro-batches · pp · virtual stages ≤ 32768 (MPI tag range)",
                              detail: "\(m) × \(p) × \(v) needs \(2 * m * p * v) tags")
        }
        self.stages = p; self.microBatches = m; self.virtualStages = v; self.stage = stage

        // (micro-batch, chunk) of the k-th forward; the k-th backward uses the same micro-batch
        // with the chunk mirrored. Without interleaving it is simply micro-batch k.
        let table = Self.forwardTable(microBatches: m, virtualStages: v, groupSize: p)
        let total = m * v
        let warm = v == 1 ? min(p - stage - 1, m) : min((p - stage - 1) * 2 + (v - 1) * p, total)
        warmup = warm

        let chunked = v > 1
        func action(_ kind: PipelineAction.Kind, _ k: Int) -> PipelineAction {
            let (mb, forwardChunk) = table[k]
            let chunk = kind == .forward ? forwardChunk : v - 1 - forwardChunk
            let virtualStage = chunk * p + stage, last = p * v - 1
            func transfer(boundary: Int, to other: Int, gradient: Bool) -> PipelineTransfer {
                PipelineTransfer(peer: other % p, tag: 2 * (mb * (p * v) + boundary) + (gradient ? 1 : 0))
            }
            if kind == .forward {
                return PipelineAction(
                    kind: .forward, microBatch: mb, chunk: chunk,
                    receive: virtualStage > 0 ? transfer(boundary: virtualStage - 1, to: virtualStage - 1, gradient: false) : nil,
                    send: virtualStage < last ? transfer(boundary: virtualStage, to: virtualStage + 1, gradient: false) : nil,
                    isChunked: chunked)
            }
            return PipelineAction(
                kind: .backward, microBatch: mb, chunk: chunk,
                receive: virtualStage < last ? transfer(boundary: virtualStage, to: virtualStage + 1, gradient: true) : nil,
                send: virtualStage > 0 ? transfer(boundary: virtualStage - 1, to: virtualStage - 1, gradient: true) : nil,
                isChunked: chunked)
        }

        var plan: [PipelineAction] = []
        plan.reserveCapacity(2 * total)
        // Warm-up: forwards only.
        for k in 0..<warm { plan.append(action(.forward, k)) }
        // Steady state: one forward, then one backward.
        let steady = total - warm
        for k in 0..<steady {
            plan.append(action(.forward, warm + k))
            plan.append(action(.backward, k))
        }
        // Cool-down: drain the backwards.
        for k in steady..<total { plan.append(action(.backward, k)) }
        actions = plan
    }

    /// The plans of every stage, indexed by stage.
    public static func all(stages: Int, microBatches: Int, virtualStages: Int = 1) throws(LayoutError) -> [PipelineSchedule] {
        var out: [PipelineSchedule] = []
        for s in 0..<stages { out.append(try PipelineSchedule(stages: stages, microBatches: microBatches, virtualStages: virtualStages, stage: s)) }
        return out
    }

    /// Megatron-Core's `get_schedule_table`: forwards in groups of `groupSize` micro-batches, each
    /// group run through chunk 0, then chunk 1, … (PP 2, m 4, v 2: (0,0) (1,0) (0,1) (1,1) (2,0)
    /// (3,0) (2,1) (3,1)). Depth-first enough to start backwards early, breadth-first enough that
    /// each stage has work while the first micro-batch travels around the ring.
    static func forwardTable(microBatches m: Int, virtualStages v: Int, groupSize: Int) -> [(microBatch: Int, chunk: Int)] {
        if v == 1 { return (0..<m).map { ($0, 0) } }
        var table: [(Int, Int)] = []
        for first in stride(from: 0, to: m, by: groupSize) {
            let group = first..<min(first + groupSize, m)
            for chunk in 0..<v { for mb in group { table.append((mb, chunk)) } }
        }
        return table
    }

    /// The bubble fraction the schedule is designed for with equal forward and backward times:
    /// `(p − 1) / (v · m)`.
    public var theoreticalBubble: Double { Double(stages - 1) / Double(virtualStages * microBatches) }
}
