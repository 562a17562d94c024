/// How a flat buffer of `count` floats (parameters, gradients or Adam moments) is split over the
/// `shards` data-parallel ranks for ZeRO: equal, aligned slots, the last holding what is left
/// (possibly less, possibly nothing) and padding to the end.
///
/// The equal slots are what `MPI_Reduce_scatter_block`/`MPI_Allgather` need; allocate the flat
/// buffers with ``paddedCount`` elements (padding zero) so the collectives can run in place.
///
/// ```swift
/// let shards = ZeroShards(count: 10, shards: 4, alignment: 2)
/// shards.shardSize          // 4 (⌈10/4⌉ = 3, aligned up to 4)
/// (0..<4).map(shards.range) // [0..<4, 4..<8, 8..<10, 10..<10]
/// ```
public struct ZeroShards: Sendable, Equatable {
    /// Real elements.
    public let count: Int
    /// Data-parallel ranks.
    public let shards: Int
    /// Elements per slot: `⌈count / shards⌉` rounded up to the alignment.
    public let shardSize: Int

    /// Splits `count` elements over `shards` ranks with slots a multiple of `alignment` elements
    /// (16 floats = 64 bytes keeps every shard's start cache-line and AVX-512 aligned).
    public init(count: Int, shards: Int, alignment: Int = 16) {
        precondition(count >= 0 && shards >= 1 && alignment >= 1, "bad ZeRO sharding: \(count) over \(shards), alignment \(alignment)")
        self.count = count
        self.shards = shards
        let per = (count + shards - 1) / shards
        shardSize = (per + alignment - 1) / alignment * alignment
    }

    /// Length to allocate for a flat buffer that the in-place collectives can use.
    public var paddedCount: Int { shardSize * shards }

    /// The real elements owned by `shard` (clipped to `count`; the last may be short or empty).
    public func range(of shard: Int) -> Range<Int> {
        let lo = min(shard * shardSize, count)
        return lo..<min(lo + shardSize, count)
    }

    /// `shard`'s whole slot, padding included.
    public func slot(of shard: Int) -> Range<Int> { (shard * shardSize)..<((shard + 1) * shardSize) }

    /// Bytes per rank of fp32 training state for `parameters` floats under ZeRO `stage`: stage 1
    /// shards the two Adam moments, stage 2 also the gradients; parameters stay replicated.
    public static func memoryPerRank(parameters n: Int, dataParallel dp: Int, stage: Int) -> (parameters: Int, gradients: Int, optimizer: Int) {
        let shard = ZeroShards(count: n, shards: dp).shardSize
        return (4 * n, 4 * (stage >= 2 ? shard : n), 8 * (stage >= 1 ? shard : n))
    }
}

/// The two ZeRO collectives over the data-parallel group, in place on padded flat buffers.
///
/// A ZeRO step: backward fills the full gradient; ``reduceScatterGradients(_:shards:group:scale:)``
/// leaves each rank the summed gradient of its own slot; each rank runs AdamW on its slot only
/// (its moments are slot-sized); ``allGatherParameters(_:shards:group:)`` then gives every rank
/// the updated full parameters. Same bytes on the wire as one all-reduce (which is a reduce-scatter
/// followed by an all-gather), but the optimizer state and its work are divided by dp.
public enum ZeroCollectives {
    /// Sums `gradients` (`shards.paddedCount` elements) over the group; afterwards this rank's
    /// slot holds the sum times `scale` (pass `1/dp` to average) and the other slots are stale.
    public static func reduceScatterGradients(_ gradients: UnsafeMutableBufferPointer<Float>, shards: ZeroShards,
                                              group: any Communicator, scale: Float = 1) throws(CommError) {
        try check(gradients.count, shards, group)
        if group.size > 1 { try group.reduceScatter(inPlace: gradients, op: .sum) }
        if scale != 1 {
            let slot = shards.slot(of: group.rank)
            for i in slot { gradients[i] *= scale }
        }
    }

    /// Gives every rank every slot of `parameters` (`shards.paddedCount` elements), each rank
    /// contributing its own slot.
    public static func allGatherParameters(_ parameters: UnsafeMutableBufferPointer<Float>, shards: ZeroShards,
                                           group: any Communicator) throws(CommError) {
        try check(parameters.count, shards, group)
        if group.size > 1 { try group.allGather(inPlace: parameters) }
    }

    private static func check(_ n: Int, _ shards: ZeroShards, _ group: any Communicator) throws(CommError) {
        guard shards.shards == group.size else {
            throw .invalidArgument("ZeRO sharding over \(shards.shards) ranks used on \(group.name) of \(group.size)")
        }
        guard n == shards.paddedCount else {
            throw .invalidArgument("ZeRO buffer has \(n) elements, expected the padded \(shards.paddedCount)")
        }
    }
}
