/// Where each rank sits, and so which link each parallel group's traffic crosses.
///
/// Ranks are laid out as Megatron does, tensor-parallel fastest, then data, then pipeline:
/// `rank = tpRank + t·(dpRank + d·ppRank)`. A group of size `n` whose members are `stride` ranks
/// apart has `min(n, devicesPerNode / stride)` members in each node (1 once the stride reaches a node).
///
/// Worked example, 16 ranks on 2 nodes of 8, t = 2, d = 2, p = 4:
/// ```
/// node 0: ranks 0…7  = stages 0, 1      node 1: ranks 8…15 = stages 2, 3
/// tensor groups (stride 1):   [0 1] [2 3] [4 5] … [14 15]        all inside a node → NVLink
/// data groups   (stride 2):   [0 2] [1 3] [4 6] … [13 15]        all inside a node → NVLink
/// pipeline groups (stride 4): [0 4 8 12] [1 5 9 13] [2 6 10 14] [3 7 11 15]
///                             stage 1 → 2 crosses the nodes → InfiniBand
/// ```
/// A collective whose group spans nodes can use the NICs of all its members in a node: NCCL runs one
/// ring per NIC, so the bus bandwidth is `k` NIC shares when `k` members share a node (capped by the
/// intra-node link), which is why a tp = 1 data-parallel all-reduce runs 8× faster than a tp = 8 one.
public struct RankGrid: Sendable {
    /// Tensor-parallel degree.
    public let t: Int
    /// Data-parallel degree.
    public let d: Int
    /// Pipeline-parallel degree.
    public let p: Int
    /// The cluster the ranks run on.
    public let cluster: ClusterSpec

    /// The grid of a layout on a cluster.
    public init(layout: Layout, cluster: ClusterSpec) {
        t = layout.tensorParallel
        d = layout.dataParallel
        p = layout.pipelineParallel
        self.cluster = cluster
    }

    /// Members of a group (size `size`, members `stride` ranks apart) that share one node.
    public func membersPerNode(stride: Int, size: Int) -> Int {
        let perNode = cluster.devicesPerNode
        if stride >= perNode { return 1 }
        return max(1, min(size, perNode / stride))
    }

    /// Bus bandwidth (bytes/s) of a ring collective over a group: the intra-node link when the whole
    /// group is in one node, else the members' NIC shares, capped by the intra-node link.
    public func collectiveBandwidth(stride: Int, size: Int) -> Double {
        let k = membersPerNode(stride: stride, size: size)
        if k == size { return cluster.intraNode.effective }
        return min(cluster.intraNode.effective, Double(k) * cluster.interNodePerDevice)
    }

    /// Seconds for a ring all-reduce of `bytes` per member: each member sends and receives
    /// 2(n − 1)/n of the buffer.
    public func allReduceTime(bytes: Double, stride: Int, size: Int) -> Double {
        guard size > 1 else { return 0 }
        return 2 * Double(size - 1) / Double(size) * bytes / collectiveBandwidth(stride: stride, size: size)
    }

    /// Seconds for a reduce-scatter or an all-gather of a `bytes` buffer: half an all-reduce.
    public func gatherTime(bytes: Double, stride: Int, size: Int) -> Double {
        allReduceTime(bytes: bytes, stride: stride, size: size) / 2
    }

    /// Tensor-parallel all-reduce time: members are adjacent ranks.
    public func tensorAllReduce(bytes: Double) -> Double {
        allReduceTime(bytes: bytes, stride: 1, size: t)
    }

    /// Bus bandwidth of the data-parallel group (members `t` ranks apart).
    public var dataParallelBandwidth: Double { collectiveBandwidth(stride: t, size: d) }

    /// Whether some pipeline boundary crosses nodes; if one does, it paces the whole pipeline.
    public var pipelineCrossesNodes: Bool { t * d * p > cluster.devicesPerNode }

    /// Seconds to send `bytes` of activations to the next stage. With scatter/gather each of the `t`
    /// tensor ranks sends 1/t over its own NIC share and the receivers all-gather over the intra-node
    /// link (Narayanan et al. 2021, §4.1).
    public func pipelineSend(bytes: Double, scatterGather: Bool) -> Double {
        guard p > 1 else { return 0 }
        let link = pipelineCrossesNodes ? cluster.interNodePerDevice : cluster.intraNode.effective
        guard scatterGather && t > 1 else { return bytes / link }
        let allGather = Double(t - 1) / Double(t) * bytes / cluster.intraNode.effective
        return bytes / Double(t) / link + allGather
    }
}
