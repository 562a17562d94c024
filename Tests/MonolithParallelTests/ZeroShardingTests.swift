@testable import MonolithParallel
import Testing

/// ZeRO shard ranges, the reduce-scatter/all-gather pair, and the gradient buckets.
@Suite("ZeRO sharding and gradient buckets")
struct ZeroShardingTests {
    @Test("shards are aligned, disjoint, cover every element, and only the last is short",
          arguments: [0, 1, 10, 16, 17, 100, 1000, 12345], [1, 2, 3, 4, 7])
    func shardRanges(count: Int, shards: Int) {
        let z = ZeroShards(count: count, shards: shards)
        #expect(z.shardSize % 16 == 0)
        #expect(z.paddedCount >= count && z.paddedCount - count < shards * 16 + z.shardSize)
        var covered: [Int] = []
        for s in 0..<shards {
            let r = z.range(of: s)
            #expect(r.lowerBound % 16 == 0 || r.isEmpty)
            #expect(r.count <= z.shardSize)
            if r.count < z.shardSize { #expect((s + 1..<shards).allSatisfy { z.range(of: $0).isEmpty }, "a short shard before the end") }
            covered += Array(r)
        }
        #expect(covered == Array(0..<count))
    }

    @Test("the documented example")
    func documentedExample() {
        let z = ZeroShards(count: 10, shards: 4, alignment: 2)
        #expect(z.shardSize == 4)
        #expect((0..<4).map(z.range) == [0..<4, 4..<8, 8..<10, 10..<10])
    }

    @Test("reduce-scatter of gradients then all-gather of parameters equals an all-reduce", arguments: [1, 2, 3, 4])
    func reduceScatterAllGather(dp: Int) throws {
        let count = 103
        let shards = ZeroShards(count: count, shards: dp, alignment: 4)
        let results = try InProcessWorld(size: dp).run { comm -> ([Float], [Float]) in
            var grad = [Float](repeating: 0, count: shards.paddedCount)
            for i in 0..<count { grad[i] = Float(i) + Float(comm.rank) * 1000 }
            try grad.withUnsafeMutableBufferPointer {
                try ZeroCollectives.reduceScatterGradients($0, shards: shards, group: comm, scale: 1 / Float(dp))
            }
            let mean = Array(grad[shards.range(of: comm.rank)])
            // "Optimizer step" on the owned slot only: parameter = 2 · mean gradient.
            var params = [Float](repeating: -7, count: shards.paddedCount)
            for i in shards.range(of: comm.rank) { params[i] = 2 * grad[i] }
            try params.withUnsafeMutableBufferPointer { try ZeroCollectives.allGatherParameters($0, shards: shards, group: comm) }
            return (mean, Array(params[0..<count]))
        }
        let rankMean = Float(dp - 1) * 500
        let expectedParams = (0..<count).map { 2 * (Float($0) + rankMean) }
        for (r, (mean, params)) in results.enumerated() {
            #expect(mean == shards.range(of: r).map { Float($0) + rankMean })
            expectClose(params, expectedParams, "gathered parameters on rank \(r)", tolerance: 1e-6)
        }
    }

    @Test("mismatched shard count or buffer length is refused")
    func invalidUse() throws {
        _ = try InProcessWorld(size: 2).run { comm in
            var short = [Float](repeating: 0, count: 10)
            #expect(throws: CommError.self) {
                try short.withUnsafeMutableBufferPointer {
                    try ZeroCollectives.reduceScatterGradients($0, shards: ZeroShards(count: 10, shards: 2), group: comm)
                }
            }
            #expect(throws: CommError.self) {
                try short.withUnsafeMutableBufferPointer {
                    try ZeroCollectives.allGatherParameters($0, shards: ZeroShards(count: 10, shards: 5, alignment: 1), group: comm)
                }
            }
        }
    }

    @Test("memory per rank: stage 1 shards the moments, stage 2 also the gradients")
    func memory() {
        let n = 1600
        #expect(ZeroShards.memoryPerRank(parameters: n, dataParallel: 4, stage: 0) == (6400, 6400, 12800))
        #expect(ZeroShards.memoryPerRank(parameters: n, dataParallel: 4, stage: 1) == (6400, 6400, 3200))
        #expect(ZeroShards.memoryPerRank(parameters: n, dataParallel: 4, stage: 2) == (6400, 1600, 3200))
    }

    @Test("buckets run from the end, end on boundaries, and hold at least the target size")
    func bucketLayout() throws {
        _ = try InProcessWorld(size: 1).run { comm in
            // 100 floats, 40-byte (10-float) buckets, tensor boundaries every 7 floats.
            let b = GradientBuckets(count: 100, group: comm, bucketBytes: 40, boundaries: Array(stride(from: 0, to: 100, by: 7)))
            #expect(b.buckets.first?.upperBound == 100)
            #expect(b.buckets.last?.lowerBound == 0)
            for (hi, lo) in zip(b.buckets, b.buckets.dropFirst()) { #expect(lo.upperBound == hi.lowerBound) }
            for r in b.buckets.dropLast() {
                #expect(r.count >= 10)
                #expect(r.lowerBound % 7 == 0)
            }
            let plain = GradientBuckets(count: 25, group: comm, bucketBytes: 40)
            #expect(plain.buckets == [15..<25, 5..<15, 0..<5])
        }
    }

    @Test("bucketed, overlapped all-reduce gives the mean gradient and launches buckets as layers finish",
          arguments: [1, 2, 3])
    func bucketedAllReduce(dp: Int) throws {
        let count = 64
        let results = try InProcessWorld(size: dp).run { comm -> ([Float], [Int]) in
            var grad = [Float](repeating: 0, count: count)
            let buckets = GradientBuckets(count: count, group: comm, bucketBytes: 16 * 4, boundaries: [16, 32, 48])
            var inFlight: [Int] = []
            try grad.withUnsafeMutableBufferPointer { g in
                // "Backward": layers finish from the top; each reports where it started.
                for layerStart in stride(from: 48, through: 0, by: -16) {
                    for i in layerStart..<(layerStart + 16) { g[i] = Float(i * (comm.rank + 1)) }
                    try buckets.gradientsReady(from: layerStart, in: g)
                    inFlight.append(buckets.inFlight)
                }
                try buckets.wait(g, scale: 1 / Float(dp))
            }
            #expect(buckets.inFlight == 0)
            return (grad, inFlight)
        }
        let factor = Float(dp + 1) / 2  // mean of 1…dp
        for (grad, inFlight) in results {
            #expect(grad == (0..<count).map { Float($0) * factor })
            if dp > 1 {
                // In-process collectives complete as soon as every rank has started them, so the
                // count of those in flight stays small; it must never exceed those launched.
                #expect(zip(inFlight, 1...4).allSatisfy { $0 <= $1 })
            }
        }
    }
}
