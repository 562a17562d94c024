import Foundation
@testable import MonolithParallel
import Testing

/// Every collective and point-to-point call of the in-process backend against values computed by
/// hand, for world sizes 1–4 (1 is the single-process path the trainer takes without mpirun).
@Suite("In-process communicator")
struct CommunicatorTests {
    static let sizes = [1, 2, 3, 4]

    @Test("all-reduce sum, max and min for every element type", arguments: sizes)
    func allReduce(size: Int) throws {
        let results = try InProcessWorld(size: size).run { comm in
            let r = comm.rank
            var f: [Float] = [Float(r), Float(-r), 1.5]
            try comm.allReduce(&f, op: .sum)
            var d: [Double] = [Double(r) * 0.25, 7]
            try comm.allReduce(&d, op: .max)
            var i32: [Int32] = [Int32(r + 3)]
            try comm.allReduce(&i32, op: .min)
            let i64 = try comm.allReduce(Int64(1) << (40 + r), op: .sum)
            return (f, d, i32, i64)
        }
        let n = Float(size), tri = Float(size * (size - 1) / 2)
        var expect64: Int64 = 0
        for r in 0..<size { expect64 += Int64(1) << (40 + r) }
        for (f, d, i32, i64) in results {
            #expect(f == [tri, -tri, 1.5 * n])
            #expect(d == [Double(size - 1) * 0.25, 7])
            #expect(i32 == [3])
            #expect(i64 == expect64)
        }
    }

    @Test("non-blocking all-reduces complete in order and overlap other work", arguments: [2, 4])
    func nonBlockingAllReduce(size: Int) throws {
        let results = try InProcessWorld(size: size).run { comm in
            var a = [Float](repeating: Float(comm.rank + 1), count: 33)
            var b = [Float](repeating: 2, count: 5)
            try a.withUnsafeMutableBufferPointer { pa in
                try b.withUnsafeMutableBufferPointer { pb in
                    let ra = try comm.startAllReduce(pa, op: .sum)
                    let rb = try comm.startAllReduce(pb, op: .max)
                    _ = try ra.test()
                    try rb.wait()
                    try ra.wait()
                }
            }
            return (a, b)
        }
        let total = Float(size * (size + 1) / 2)
        for (a, b) in results {
            #expect(a == [Float](repeating: total, count: 33))
            #expect(b == [Float](repeating: 2, count: 5))
        }
    }

    @Test("reduce-scatter and all-gather, out of place and in place", arguments: sizes)
    func reduceScatterAllGather(size: Int) throws {
        let block = 3
        let results = try InProcessWorld(size: size).run { comm in
            let r = comm.rank
            // Element i of rank r is r·100 + i, so the sum of element i is 100·Σr + size·i.
            let input = (0..<(size * block)).map { Float(r * 100 + $0) }
            var mine = [Float](repeating: 0, count: block)
            try input.withUnsafeBufferPointer { i in
                try mine.withUnsafeMutableBufferPointer { o in try comm.reduceScatter(i, into: o, op: .sum) }
            }
            var inPlace = input
            try inPlace.withUnsafeMutableBufferPointer { try comm.reduceScatter(inPlace: $0, op: .sum) }
            let inPlaceMine = Array(inPlace[(r * block)..<((r + 1) * block)])
            let gathered = try comm.allGather([Float(r), Float(r) + 0.5])
            var slots = [Float](repeating: -1, count: size * 2)
            slots[2 * r] = Float(r); slots[2 * r + 1] = Float(r) + 0.5
            try slots.withUnsafeMutableBufferPointer { try comm.allGather(inPlace: $0) }
            return (mine, inPlaceMine, gathered, slots)
        }
        let rankSum = Float(size * (size - 1) / 2) * 100
        let expectedGather = (0..<size).flatMap { [Float($0), Float($0) + 0.5] }
        for (r, (mine, inPlaceMine, gathered, slots)) in results.enumerated() {
            let expected = (0..<block).map { rankSum + Float(size * (r * block + $0)) }
            #expect(mine == expected)
            #expect(inPlaceMine == expected)
            #expect(gathered == expectedGather)
            #expect(slots == expectedGather)
        }
    }

    @Test("broadcast from every root, and barrier", arguments: sizes)
    func broadcast(size: Int) throws {
        let results = try InProcessWorld(size: size).run { comm in
            var seen: [[Int64]] = []
            for root in 0..<comm.size {
                var v: [Int64] = comm.rank == root ? [Int64(root), 42] : [0, 0]
                try comm.broadcast(&v, root: root)
                seen.append(v)
                try comm.barrier()
            }
            return seen
        }
        for seen in results { #expect(seen == (0..<size).map { [Int64($0), 42] }) }
    }

    @Test("send and receive: blocking, non-blocking, posted before the message, matched by tag and order")
    func pointToPoint() throws {
        let results = try InProcessWorld(size: 3).run { comm -> [Float] in
            switch comm.rank {
            case 0:
                try [Float](arrayLiteral: 1, 2, 3).withUnsafeBufferPointer { try comm.send($0, to: 1, tag: 7) }
                try [Float](arrayLiteral: 9).withUnsafeBufferPointer { try comm.send($0, to: 1, tag: 8) }
                try [Float](arrayLiteral: 10).withUnsafeBufferPointer { try comm.send($0, to: 1, tag: 8) }
                return []
            case 1:
                // Receive tag 8 (twice, in order) before tag 7; then echo to rank 2 non-blocking.
                var a = [Float](repeating: 0, count: 1), b = a, c = [Float](repeating: 0, count: 3)
                try a.withUnsafeMutableBufferPointer { try comm.receive(into: $0, from: 0, tag: 8) }
                try b.withUnsafeMutableBufferPointer { try comm.receive(into: $0, from: 0, tag: 8) }
                try c.withUnsafeMutableBufferPointer { try comm.receive(into: $0, from: 0, tag: 7) }
                let all = a + b + c
                try all.withUnsafeBufferPointer { try comm.startSend($0, to: 2, tag: 0).wait() }
                return all
            default:
                var got = [Float](repeating: 0, count: 5)
                try got.withUnsafeMutableBufferPointer { buffer in
                    let request = try comm.startReceive(into: buffer, from: 1, tag: 0)
                    try request.wait()
                }
                return got
            }
        }
        #expect(results[1] == [9, 10, 1, 2, 3])
        #expect(results[2] == [9, 10, 1, 2, 3])
    }

    @Test("split makes ordered sub-groups named by their world ranks; nil color gets no group")
    func split() throws {
        let results = try InProcessWorld(size: 6).run { comm -> (String, Int, Float)? in
            // Colors by parity, keys reverse the order; rank 5 opts out.
            guard let sub = try comm.split(color: comm.rank == 5 ? nil : comm.rank % 2, key: -comm.rank, label: "parity") else {
                return nil
            }
            let sum = try sub.allReduce(Float(comm.rank), op: .sum)
            return (sub.name, sub.rank, sum)
        }
        #expect(results[5] == nil)
        #expect(results[0]! == ("parity group of world ranks [4, 2, 0]", 2, 6))
        #expect(results[4]! == ("parity group of world ranks [4, 2, 0]", 0, 6))
        #expect(results[1]! == ("parity group of world ranks [3, 1]", 1, 4))
    }

    @Test("ensureIdentical names the ranks whose configuration differs")
    func ensureIdentical() throws {
        #expect(throws: Never.self) {
            try InProcessWorld(size: 3).run { comm in try comm.ensureIdentical("tp=2 pp=1", what: "config") }
        }
        let error = #expect(throws: CommError.self) {
            try InProcessWorld(size: 4).run { comm in
                try comm.ensureIdentical(comm.rank >= 2 ? "lr=1e-3" : "lr=3e-4", what: "training config")
            }
        }
        #expect(error?.description.contains("training config differs from world rank 0's on world ranks [2, 3]") == true)
    }
}
