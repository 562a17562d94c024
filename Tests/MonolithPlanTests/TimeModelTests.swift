import Testing
@testable import MonolithPlan

@Suite struct TimeModelTests {
    static func cluster(nodes: Int, software: SoftwareProfile = .megatron) -> ClusterSpec {
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = nodes
        cluster.software = software
        return cluster
    }

    /// The bubble is (p − 1)/(v·m) of the useful pipeline time (Narayanan et al. 2021, §2.2.1–2.2.2).
    @Test(arguments: [(35, 1, 1), (35, 3, 1), (8, 2, 2), (4, 1, 4)])
    func bubbleFraction(p: Int, v: Int, micro: Int) throws {
        let model = try ModelSpec.preset(named: "megatron-529.6b")
        let layout = Layout(tensorParallel: 8, pipelineParallel: p, dataParallel: 280 / p, virtualStages: v,
                            microBatch: micro, globalBatch: 2520, sequenceLength: 2048, recompute: .full)
        guard (try? layout.validate(model: model, cluster: Self.cluster(nodes: 280))) != nil else { return }
        let time = try Planner.plan(model: model, cluster: Self.cluster(nodes: 280), layout: layout).time
        let m = Double(layout.microBatchesPerStep)
        #expect(abs(time.bubble / (m * time.microBatch) - Double(p - 1) / (Double(v) * m)) < 1e-12)
        #expect(abs(layout.bubbleFraction - Double(p - 1) / (Double(v) * m)) < 1e-12)
    }

    /// Interleaving shrinks the bubble and pays with more pipeline sends.
    @Test func interleavingTradesBubbleForSends() throws {
        let model = try ModelSpec.preset(named: "megatron-529.6b")
        func plan(_ v: Int) throws -> Plan {
            try Planner.plan(model: model, cluster: Self.cluster(nodes: 315), layout: Layout(
                tensorParallel: 8, pipelineParallel: 35, dataParallel: 9, virtualStages: v, globalBatch: 2520,
                sequenceLength: 2048, recompute: .full))
        }
        let plain = try plan(1), interleaved = try plan(3)
        #expect(interleaved.time.bubble < plain.time.bubble / 2.9)
        #expect(interleaved.time.pipelineP2P > plain.time.pipelineP2P * 2.9)
        #expect(interleaved.time.total < plain.time.total)
        #expect(interleaved.memory.activations > plain.memory.activations)
    }

    /// ZeRO paper §7: stages 1 and 2 move what plain data parallelism does (2Ψ), stage 3 half again
    /// as much (3Ψ), per step with a single micro-batch.
    @Test func zeroCommunicationVolume() throws {
        let model = try ModelSpec.preset(named: "gpt2-1.5b")
        let cluster = Self.cluster(nodes: 4)
        func reduction(_ zero: Int) throws -> Double {
            let layout = Layout(tensorParallel: 1, pipelineParallel: 1, dataParallel: 32, microBatch: 1,
                                globalBatch: 32, sequenceLength: 1024, zeroStage: zero, recompute: .none)
            return try Planner.plan(model: model, cluster: cluster, layout: layout).time.dataParallelWithoutOverlap
        }
        let plain = try reduction(0)
        #expect(abs(try reduction(1) / plain - 1) < 1e-12)
        #expect(abs(try reduction(2) / plain - 1) < 1e-12)
        #expect(abs(try reduction(3) / plain - 1.5) < 1e-12)
    }

    /// With overlap the exposed reduction shrinks; without, it is all exposed.
    @Test func gradientReduceOverlap() throws {
        let model = try ModelSpec.preset(named: "gpt2-1.5b")
        let layout = Layout(tensorParallel: 1, pipelineParallel: 1, dataParallel: 32, microBatch: 4,
                            globalBatch: 128, sequenceLength: 1024, zeroStage: 0, recompute: .none)
        var overlapping = SoftwareProfile.megatron
        overlapping.overlapsGradientReduce = true
        let hidden = try Planner.plan(model: model, cluster: Self.cluster(nodes: 4, software: overlapping), layout: layout)
        let exposed = try Planner.plan(model: model, cluster: Self.cluster(nodes: 4), layout: layout)
        #expect(exposed.time.dataParallel == exposed.time.dataParallelWithoutOverlap)
        #expect(hidden.time.dataParallel < hidden.time.dataParallelWithoutOverlap)
        #expect(hidden.time.dataParallelWithoutOverlap == exposed.time.dataParallelWithoutOverlap)
        #expect(hidden.time.total < exposed.time.total)
    }

    /// The worked 16-rank example of `RankGrid`: t = 2, d = 2, p = 4 on two nodes of 8.
    @Test func rankGridExample() {
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = 2
        let grid = RankGrid(layout: Layout(tensorParallel: 2, pipelineParallel: 4, dataParallel: 2,
                                           globalBatch: 8, sequenceLength: 2048), cluster: cluster)
        #expect(grid.membersPerNode(stride: 1, size: 2) == 2)   // tensor groups inside a node
        #expect(grid.membersPerNode(stride: 2, size: 2) == 2)   // data groups inside a node
        #expect(grid.membersPerNode(stride: 4, size: 4) == 2)   // pipeline groups span both nodes
        #expect(grid.pipelineCrossesNodes)
        #expect(grid.collectiveBandwidth(stride: 1, size: 2) == cluster.intraNode.effective)
        // A group with one member per node gets one device's NIC share, with all 8 the node's NICs.
        #expect(grid.collectiveBandwidth(stride: 8, size: 4) == cluster.interNodePerDevice)
        #expect(grid.collectiveBandwidth(stride: 1, size: 16) == min(cluster.intraNode.effective,
                                                                     8 * cluster.interNodePerDevice))
    }

    /// A ring all-reduce moves 2(n − 1)/n of the buffer at the bus bandwidth.
    @Test func ringAllReduce() {
        let grid = RankGrid(layout: Layout(tensorParallel: 8, globalBatch: 8, sequenceLength: 2048),
                            cluster: .dgxA100)
        let expected = 2 * 7.0 / 8 * 1e9 / (300e9 * 0.70)
        #expect(abs(grid.tensorAllReduce(bytes: 1e9) / expected - 1) < 1e-12)
        #expect(RankGrid(layout: Layout(globalBatch: 8, sequenceLength: 2048), cluster: .dgxA100)
                    .tensorAllReduce(bytes: 1e9) == 0)
    }

    /// Tensor parallelism across nodes runs at the NIC shares instead of NVLink. (Bandwidth only: with
    /// all 8 NICs per node a 16-way ring still gets 170 GB/s, so the penalty is mild here; latency and
    /// small-GEMM losses that make it worse in practice are not modelled; see docs/plan.md.)
    @Test func tensorParallelAcrossNodesIsSlow() throws {
        let model = try ModelSpec.preset(named: "gpt3-175b")
        func tensorTime(_ t: Int) throws -> Double {
            try Planner.plan(model: model, cluster: Self.cluster(nodes: 4), layout: Layout(
                tensorParallel: t, pipelineParallel: 32 / t, dataParallel: 1, globalBatch: 64,
                sequenceLength: 2048, recompute: .full)).time.tensorParallel / Double(96 / (32 / t))
        }
        #expect(try tensorTime(16) > tensorTime(8))
    }
}
