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
    /// `gradientsReady` is passed to each chunk's backward of the last micro-batch, the last to touch
    /// that chunk's gradients (see ``ModelShard/backward(_:ids:targets:lossScale:outputGradient:inputGradient:dropoutStep:gradientsReady:)``).
    public func run(ids: [[Int32]], targets: [[Int32]], lossScale: Float, group: any Communicator, dropoutBase: Int = 0,
                    gradientsReady: ((Int) -> Void)? = nil) throws {
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
                               dropoutStep: dropoutBase + action.microBatch,
                               gradientsReady: action.microBatch == schedule.microBatches - 1 ? gradientsReady : nil)
            free[action.chunk].append(acts)
        })
    }

    /// Forward only, no dropout, one batch at a time through every virtual stage in turn (blocking
    /// sends and receives over `group`; the stages do not overlap, which is fine for evaluation).
    /// Returns the summed loss and its token count on the stage holding the last virtual stage,
    /// (0, 0) elsewhere. `ids`/`targets` must have the shard's micro-batch shape (pad short batches
    /// with target −1).
    public func evaluate(ids: [Int32], targets: [Int32], group: any Communicator) throws -> (sum: Double, count: Int) {
        let p = schedule.stages, v = schedule.virtualStages, me = schedule.stage
        let n = shard.rows * shard.config.nEmbd
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, n))
        defer { buffer.deallocate() }
        let dropout = shard.dropout
        shard.dropout = 0
        defer { shard.dropout = dropout }
        var result: (sum: Double, count: Int) = (0, 0)
        // Tag = the receiving virtual stage: a training step has completed all its transfers before
        // evaluation, and these messages are blocking and strictly ordered along the chain.
        for vs in 0..<(p * v) where vs % p == me {
            let chunk = vs / p
            if vs > 0 { try group.receive(into: buffer, from: (vs - 1) % p, tag: vs) }
            let acts = take(chunk: chunk)
            defer { free[chunk].append(acts) }
            let loss = try shard.forward(acts, ids: ids, targets: targets, input: vs > 0 ? UnsafePointer(buffer.baseAddress) : nil,
                                         output: buffer.baseAddress)
            if let loss { result = loss }
            if vs < p * v - 1 { try group.send(UnsafeBufferPointer(buffer), to: (vs + 1) % p, tag: vs + 1) }
        }
        return result
    }

    private func take(chunk: Int) -> ChunkActivations {
        if let a = free[chunk].popLast() { return a }
        let a = shard.makeActivations(chunk: chunk)
        peakActivationBytes += a.bytes
        return a
    }
}
