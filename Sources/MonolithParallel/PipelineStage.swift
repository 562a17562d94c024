/// One pipeline stage at work: walks its ``PipelineSchedule`` with a ``PipelineRunner``, running
/// the ``ModelShard``'s chunks forward and backward on each micro-batch.
///
/// Activation sets are taken from a per-chunk free list when a forward starts and returned when
/// that micro-batch's backward ends, so a stage holds only as many sets as the plan keeps in
/// flight (1F1B: at most `p − s` micro-batches per chunk), not one per micro-batch.
/// ``peakActivationBytes`` reports the high-water mark.
public final class PipelineStage {
    /// The shard whose chunks run here.
    public let shard: ModelShard
    /// The plan of this stage (replaced when the number of micro-batches changes, e.g. during a
    /// batch-size ramp-up; the activation sets are kept).
    public var schedule: PipelineSchedule {
        didSet { precondition(schedule.virtualStages == oldValue.virtualStages && schedule.stage == oldValue.stage) }
    }
    private var free: [[ChunkActivations]]
    private var inUse: [Int: ChunkActivations] = [:]
    private var allocated = 0
    /// Sum of the micro-batch mean losses computed on this stage (non-zero on the last stage only).
    public private(set) var lossSum: Float = 0
    /// Seconds the last ``run(ids:targets:lossScale:group:)`` spent blocked waiting for other stages.
    public private(set) var lastWaitSeconds = 0.0
    /// Bytes of activation sets allocated so far (the most ever in flight at once).
    public private(set) var peakActivationBytes = 0

    /// A stage running `shard` on `schedule` (which must have the shard's chunk count).
    public init(shard: ModelShard, schedule: PipelineSchedule) {
        precondition(schedule.virtualStages == shard.layout.virtualStages && schedule.stage == shard.layout.stage,
                     "the schedule and the shard disagree on the stage or its chunks")
        self.shard = shard
        self.schedule = schedule
        free = Array(repeating: [], count: schedule.virtualStages)
    }

    /// Runs the step's micro-batches (`ids`/`targets` per micro-batch) over `group`, accumulating
    /// `lossScale`-scaled gradients into the shard's gradients (which the caller zeroes first).
    /// Micro-batch `k` draws its dropout masks as global micro-batch `dropoutBase + k`.
    public func run(ids: [[Int32]], targets: [[Int32]], lossScale: Float, group: any Communicator, dropoutBase: Int = 0) throws {
        precondition(ids.count == schedule.microBatches && targets.count == schedule.microBatches, "one id array per micro-batch")
        lossSum = 0
        let n = shard.rows * shard.config.nEmbd, v = schedule.virtualStages
        let runner = PipelineRunner(schedule: schedule, group: group, activationCount: n)
        lastWaitSeconds = try runner.run(forward: { action, input, output in
            let acts = take(chunk: action.chunk)
            inUse[action.microBatch * v + action.chunk] = acts
            let loss = try shard.forward(acts, ids: ids[action.microBatch], targets: targets[action.microBatch],
                                         input: input?.baseAddress, output: output.baseAddress,
                                         dropoutStep: dropoutBase + action.microBatch)
            if let loss { lossSum += loss.count > 0 ? Float(loss.sum / Double(loss.count)) : 0 }
        }, backward: { action, outputGradient, inputGradient in
            let key = action.microBatch * v + action.chunk
            let acts = inUse.removeValue(forKey: key)!
            try shard.backward(acts, ids: ids[action.microBatch], targets: targets[action.microBatch], lossScale: lossScale,
                               outputGradient: outputGradient?.baseAddress, inputGradient: inputGradient.baseAddress,
                               dropoutStep: dropoutBase + action.microBatch)
            free[action.chunk].append(acts)
        })
    }

    private func take(chunk: Int) -> ChunkActivations {
        if let a = free[chunk].popLast() { return a }
        let a = shard.makeActivations(chunk: chunk)
        peakActivationBytes += a.bytes
        return a
    }
}
