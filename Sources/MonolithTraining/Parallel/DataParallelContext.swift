import MonolithParallel

/// What a ``Trainer`` needs to train one data-parallel replica: the data-parallel group and the
/// ZeRO stage. A value passed to the trainer explicitly; there is no global parallel state.
///
/// **Batch split.** Every rank sees the same global batch of micro-batches (the data loader is
/// deterministic and replicated); data-parallel rank `r` of `dp` runs the contiguous slice
/// `r·k ..< (r+1)·k` of them, `k = count / dp`. Each micro-batch's loss is scaled by
/// `1 / count` (the *global* count, as the single process does), so the summed gradient over the
/// group equals the single-process gradient without a further division.
///
/// ```swift
/// let groups = try ParallelGroups(world: MPICommunicator.world(), grid: grid)
/// let dp = DataParallelContext(group: groups.data, zeroStage: 1, parameterCount: layout.count)
/// let model = try GPT(config: config, bufferCount: dp.bufferCount)
/// let trainer = try Trainer(model: model, optimizer: adamw, schedule: lr, gradClip: 1, dataParallel: dp)
/// ```
public struct DataParallelContext: Sendable {
    /// The replicas of this rank's shard of the model.
    public let group: any Communicator
    /// 0: gradients all-reduced, optimizer replicated; 1: gradients reduce-scattered, AdamW and its
    /// moments on this rank's slot only, parameters all-gathered; 2: as 1, and the accumulated
    /// gradient kept only for the slot (reduce-scattered after every micro-batch).
    public let zeroStage: Int
    /// How the flat buffers split into slots (one per data-parallel rank).
    public let shards: ZeroShards
    /// A context for a model (or model-parallel shard) of `parameterCount` floats; `zeroStage` must be 0, 1 or 2.
    public init(group: any Communicator, zeroStage: Int, parameterCount: Int) {
        precondition((0...2).contains(zeroStage), "ZeRO stage must be 0, 1 or 2")
        self.group = group
        self.zeroStage = zeroStage
        shards = ZeroShards(count: parameterCount, shards: group.size)
    }

    /// This rank's data-parallel index.
    public var rank: Int { group.rank }
    /// Number of replicas.
    public var size: Int { group.size }
    /// Length the model's flat parameter and gradient buffers need (padded for in-place ZeRO).
    public var bufferCount: Int { zeroStage >= 1 ? shards.paddedCount : shards.count }
    /// This rank's optimizer slice, `nil` when the optimizer is replicated (ZeRO 0).
    public var optimizerShard: Range<Int>? { zeroStage >= 1 ? shards.range(of: rank) : nil }

    /// The micro-batches this rank runs out of a global batch of `count`.
    public func localMicroBatches(of count: Int) -> Range<Int> {
        precondition(count % size == 0, "\(count) micro-batches cannot be split over \(size) data-parallel ranks")
        let k = count / size
        return (rank * k)..<((rank + 1) * k)
    }

    /// Bytes per rank of fp32 parameters, gradients and Adam moments under this stage.
    public var memoryPerRank: (parameters: Int, gradients: Int, optimizer: Int) {
        ZeroShards.memoryPerRank(parameters: shards.count, dataParallel: size, stage: zeroStage)
    }
}
