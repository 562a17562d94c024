import Foundation
@testable import MonolithParallel
import Synchronization
import Testing

/// The fault paths of issue #6: no silent hang. A rank that never reaches a collective or never
/// sends is named in the error; ranks calling different collectives are reported as a mismatch;
/// the other ranks stop with `.aborted` instead of waiting out their own timeouts.
@Suite("Communication failures")
struct CommFailureTests {
    // No wall-clock bounds: on two busy cores any bound is either loose or flaky. The timeouts are
    // long enough for every present rank to arrive, so the missing ranks are exactly the culprits.

    @Test("a rank that skips a collective is named as missing", arguments: [2, 4])
    func skippedCollective(size: Int) throws {
        let error = #expect(throws: CommError.self) {
            try InProcessWorld(size: size, timeout: 1).run { comm in
                try comm.barrier()
                var x: [Float] = [1, 2]
                if comm.rank != 1 { try comm.allReduce(&x, op: .sum) }  // rank 1 skips it
            }
        }
        guard case let .timeout(operation, group, missing, seconds)? = error else {
            Issue.record("expected a timeout, got \(String(describing: error))"); return
        }
        #expect(operation == "allReduce(sum) of 2 Float #1")
        #expect(group == "world")
        #expect(missing == [1])
        #expect(seconds == 1)
        #expect(error!.description.contains("did not arrive: world rank 1"))
    }

    @Test("the error names the sub-group and the world ranks, not group ranks")
    func skippedInSubGroup() throws {
        let error = #expect(throws: CommError.self) {
            try InProcessWorld(size: 4, timeout: 1).run { comm in
                let dp = try comm.split(color: comm.rank % 2, key: comm.rank, label: "dp")!
                if comm.rank != 3 { try dp.barrier() }  // world rank 3 is dp rank 1 of [1, 3]
            }
        }
        #expect(error?.missingRanks == [3])
        #expect(error?.description.contains("barrier #0 on dp group of world ranks [1, 3]") == true)
    }

    @Test("a receive whose sender never sends times out naming the sender")
    func missingSend() throws {
        let error = #expect(throws: CommError.self) {
            try InProcessWorld(size: 2, timeout: 1).run { comm in
                if comm.rank == 0 {
                    var x = [Float](repeating: 0, count: 4)
                    try x.withUnsafeMutableBufferPointer { try comm.receive(into: $0, from: 1, tag: 3) }
                }
            }
        }
        #expect(error?.missingRanks == [1])
        #expect(error?.description.contains("receive of 4 Float from world rank 1 (group rank 1) tag 3") == true)
    }

    @Test("different collectives at the same point are a mismatch, not corruption")
    func mismatchedCollectives() throws {
        let error = #expect(throws: CommError.self) {
            try InProcessWorld(size: 2, timeout: 5).run { comm in
                var x: [Float] = [1, 2, 3]
                if comm.rank == 0 { try comm.allReduce(&x, op: .sum) } else { try comm.broadcast(&x, root: 0) }
            }
        }
        guard case let .mismatch(_, _, detail)? = error else {
            Issue.record("expected a mismatch, got \(String(describing: error))"); return
        }
        #expect(detail.contains("world rank 0 (group rank 0) called allReduce(sum) of 3 Float"))
        #expect(detail.contains("world rank 1 (group rank 1) called broadcast from group rank 0 of 3 Float"))
    }

    /// The others stop with `.aborted`, naming the crashed rank: with a 60 s timeout, a `.timeout`
    /// (or a hang) would mean they waited instead.
    @Test("a rank whose body throws stops the others with .aborted")
    func crashingRank() throws {
        struct Crash: Error {}
        let seen = Mutex<[Int: CommError]>([:])
        #expect(throws: Crash.self) {
            try InProcessWorld(size: 3, timeout: 60).run { comm in
                if comm.rank == 2 { throw Crash() }
                do {
                    try comm.barrier()
                } catch let error as CommError {
                    seen.withLock { $0[comm.rank] = error }
                    throw error
                }
            }
        }
        let errors = seen.withLock { $0 }
        #expect(errors.keys.sorted() == [0, 1])
        for (rank, error) in errors {
            guard case let .aborted(reason) = error else { Issue.record("rank \(rank): \(error)"); continue }
            #expect(reason.contains("world rank 2 failed"), "rank \(rank): \(reason)")
        }
    }

    @Test("wrong buffer sizes are rejected before any rank waits")
    func invalidArguments() throws {
        _ = try InProcessWorld(size: 2).run { comm in
            let input = [Float](repeating: 0, count: 5)
            var output = [Float](repeating: 0, count: 2)
            #expect(throws: CommError.self) {
                try input.withUnsafeBufferPointer { i in
                    try output.withUnsafeMutableBufferPointer { o in try comm.reduceScatter(i, into: o, op: .sum) }
                }
            }
            #expect(throws: CommError.self) {
                try input.withUnsafeBufferPointer { try comm.send($0, to: comm.rank, tag: 0) }
            }
        }
    }

    @Test("the default timeout reads MONOLITH_COMM_TIMEOUT")
    func timeoutFromEnvironment() {
        let saved = getenv("MONOLITH_COMM_TIMEOUT").map { String(cString: $0) }
        defer { if let saved { setenv("MONOLITH_COMM_TIMEOUT", saved, 1) } else { unsetenv("MONOLITH_COMM_TIMEOUT") } }
        unsetenv("MONOLITH_COMM_TIMEOUT")
        #expect(CommDefaults.timeout == 300)
        setenv("MONOLITH_COMM_TIMEOUT", "12.5", 1)
        #expect(CommDefaults.timeout == 12.5)
    }
}
