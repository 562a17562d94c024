import ArgumentParser
import Foundation
import MonolithKernels
import MonolithParallel

/// `monolith comm …`: checks of the communication layer on a real Open MPI job.
///
/// Run under `mpirun` (as root in containers: `mpirun --allow-run-as-root --oversubscribe -np 4
/// monolith comm selftest --tp 2 --pp 2`); without `mpirun` each runs as a world of one.
struct CommCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm", abstract: "Self-test, fault test and bandwidth of the MPI communication layer.",
        subcommands: [CommSelfTest.self, CommHangTest.self, CommBench.self])
}

/// Writes one whole line to stdout unbuffered, so lines of different ranks do not interleave
/// mid-line and appear before an abort.
private func emit(_ line: String) {
    FileHandle.standardOutput.write((line + "\n").data(using: .utf8)!)
}

struct CommSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Run every collective and point-to-point call on the world and on each grid group, and check the results.",
        discussion: "Exits non-zero on any wrong result. Each rank prints one line per group, prefixed with its grid coordinates.")

    @Option(help: "Tensor-parallel degree.") var tp = 1
    @Option(help: "Pipeline-parallel degree.") var pp = 1
    @Option(help: "Data-parallel degree (default: world size / (tp·pp)).") var dp: Int?
    @Option(help: "Seconds a rank may wait in one operation before the job is aborted (default: MONOLITH_COMM_TIMEOUT or 300).")
    var timeout: Double?
    @Flag(help: "Print every check, not only failures and per-group totals.") var verbose = false

    func run() throws {
        let world = MPICommunicator.world()
        if let timeout { world.timeout = timeout }
        let grid: ProcessGrid
        do {
            grid = try dp.map { try ProcessGrid(tensorParallel: tp, pipelineParallel: pp, dataParallel: $0) }
                ?? ProcessGrid(worldSize: world.size, tensorParallel: tp, pipelineParallel: pp)
            try grid.validate(worldSize: world.size)
        } catch {
            // Every rank computes the same verdict, so every rank exits with the same message.
            throw ValidationError("\(error)")
        }
        let prefix = "[rank \(world.rank) \(grid.logPrefix(rank: world.rank).dropFirst())"
        let log = CheckLog(prefix: prefix, verbose: verbose)

        try exercise(world, log: log)
        let groups = try ParallelGroups(world: world, grid: grid)
        let r = world.rank
        log.check("grid", "tp group members", groups.tensor.worldRanks == grid.tensorGroup(containing: r))
        log.check("grid", "pp group members", groups.pipeline.worldRanks == grid.pipelineGroup(containing: r))
        log.check("grid", "dp group members", groups.data.worldRanks == grid.dataGroup(containing: r))
        log.check("grid", "model-parallel group members", groups.modelParallel.worldRanks == grid.modelParallelGroup(containing: r))
        log.check("grid", "embedding group members", groups.embedding?.worldRanks == grid.embeddingGroup(containing: r))
        for group in [groups.tensor, groups.pipeline, groups.data, groups.modelParallel] { try exercise(group, log: log) }
        // Collectives on a group some ranks do not belong to must not disturb the others.
        if let embedding = groups.embedding { try exercise(embedding, log: log) }
        try world.ensureIdentical("tp=\(tp) pp=\(pp) grid=\(grid)", what: "selftest options")
        try vocabParallelLoss(groups.tensor, log: log)
        for v in pp > 1 ? [1, 2] : [1] { try pipelineWalk(groups.pipeline, virtualStages: v, log: log) }
        try zeroAndBuckets(groups.data, log: log)

        let failedEverywhere = try world.allReduce(Int64(log.failed), op: .sum)
        let passedEverywhere = try world.allReduce(Int64(log.passed), op: .sum)
        try world.barrier()
        if world.rank == 0 {
            emit("comm selftest: \(passedEverywhere) passed, \(failedEverywhere) failed on \(world.size) rank\(world.size == 1 ? "" : "s") (\(grid))")
        }
        if failedEverywhere > 0 { throw ExitCode.failure }
    }

    /// Every operation on `comm`, with results that depend on world ranks so that a wrong member,
    /// order or block shows.
    private func exercise(_ comm: any Communicator, log: CheckLog) throws {
        let n = comm.size, r = comm.rank, w = comm.worldRanks, me = w[r]
        let group = comm.name
        let before = log.failed
        let sumW = w.reduce(0, +)

        var f = (0..<1000).map { Float(me * 10 + $0) }
        try comm.allReduce(&f, op: .sum)
        log.check(group, "allReduce(sum) Float", f == (0..<1000).map { Float(10 * sumW + n * $0) })
        log.check(group, "allReduce(max) Double", try comm.allReduce(Double(me) + 0.5, op: .max) == Double(w.max()!) + 0.5)
        log.check(group, "allReduce(min) Int64", try comm.allReduce(Int64(me) - 7, op: .min) == Int64(w.min()!) - 7)
        log.check(group, "allReduce(sum) Int32", try comm.allReduce(Int32(1), op: .sum) == Int32(n))

        // Two non-blocking all-reduces in flight, waited in reverse order; the second is 4 MB so
        // that it takes Open MPI's large-message path.
        var small: [Double] = [Double(me)]
        var large = [Float](repeating: Float(me + 1), count: 1 << 20)
        try small.withUnsafeMutableBufferPointer { s in
            try large.withUnsafeMutableBufferPointer { l in
                let a = try comm.startAllReduce(s, op: .sum)
                let b = try comm.startAllReduce(l, op: .sum)
                try b.wait(); try a.wait()
            }
        }
        log.check(group, "non-blocking allReduce ×2", small == [Double(sumW)] && large.allSatisfy { $0 == Float(sumW + n) })

        let k = 257
        let input = (0..<(n * k)).map { Float(me * 1000 + $0) }
        let expectedBlock = (0..<k).map { Float(1000 * sumW + n * (r * k + $0)) }
        var block = [Float](repeating: 0, count: k)
        try input.withUnsafeBufferPointer { i in try block.withUnsafeMutableBufferPointer { try comm.reduceScatter(i, into: $0, op: .sum) } }
        log.check(group, "reduceScatter", block == expectedBlock)
        var inPlace = input
        try inPlace.withUnsafeMutableBufferPointer { try comm.reduceScatter(inPlace: $0, op: .sum) }
        log.check(group, "reduceScatter in place", Array(inPlace[(r * k)..<((r + 1) * k)]) == expectedBlock)

        let gathered = try comm.allGather([Int64(me), Int64(me) * 3])
        log.check(group, "allGather", gathered == w.flatMap { [Int64($0), Int64($0) * 3] })
        var slots = [Float](repeating: -1, count: 2 * n)
        slots[2 * r] = Float(me); slots[2 * r + 1] = Float(me) + 0.25
        try slots.withUnsafeMutableBufferPointer { try comm.allGather(inPlace: $0) }
        log.check(group, "allGather in place", slots == w.flatMap { [Float($0), Float($0) + 0.25] })

        var broadcastOK = true
        for root in 0..<n {
            var v: [Int64] = r == root ? [Int64(me), 7] : [-1, -1]
            try comm.broadcast(&v, root: root)
            broadcastOK = broadcastOK && v == [Int64(w[root]), 7]
        }
        log.check(group, "broadcast from every root", broadcastOK)
        try comm.barrier()
        log.check(group, "barrier", true)

        if n > 1 {
            // Ring: receive posted first, then a blocking send, so no rank waits on itself. The
            // 1M-float message needs a matching receive before it can move (rendezvous protocol).
            let next = (r + 1) % n, prev = (r + n - 1) % n
            for count in [3, 1 << 20] {
                var got = [Float](repeating: -1, count: count)
                let out = [Float](repeating: Float(me), count: count)
                try got.withUnsafeMutableBufferPointer { g in
                    let request = try comm.startReceive(into: g, from: prev, tag: 11)
                    try out.withUnsafeBufferPointer { try comm.send($0, to: next, tag: 11) }
                    try request.wait()
                }
                log.check(group, "ring send/receive of \(count) Float", got.allSatisfy { $0 == Float(w[prev]) })
            }
        }
        log.summary(group, failedBefore: before)
    }

    /// Vocab-parallel cross-entropy over the tensor group equals the unsharded kernel.
    private func vocabParallelLoss(_ tensor: any Communicator, log: CheckLog) throws {
        let (rows, vocab) = (16, 1000)
        var g = SplitMix64(seed: 5)
        let logits = (0..<(rows * vocab)).map { _ in Float.random(in: -5...5, using: &g) }
        let targets = (0..<rows).map { _ in Int32.random(in: 0..<Int32(vocab), using: &g) }
        var refLosses = [Float](repeating: 0, count: rows), refLse = refLosses
        let ref = CrossEntropy.forward(losses: &refLosses, logSumExp: &refLse, logits: logits, targets: targets,
                                       rows: rows, vocab: vocab, stride: vocab, pool: .serial)
        let shard = VocabShard(vocabulary: vocab, tensorParallel: tensor.size, rank: tensor.rank)
        var local = [Float](repeating: 0, count: rows * shard.count)
        for row in 0..<rows { for j in 0..<shard.realCount { local[row * shard.count + j] = logits[row * vocab + shard.range.lowerBound + j] } }
        var losses = [Float](repeating: 0, count: rows), lse = losses
        let result = try VocabParallelCrossEntropy.forward(losses: &losses, logSumExp: &lse, logits: local, targets: targets, rows: rows,
                                                           shard: shard, stride: shard.count, group: tensor, pool: .serial)
        log.check(tensor.name, "vocab-parallel cross-entropy", abs(result.sum - ref.sum) <= 1e-4 * abs(ref.sum) && result.count == ref.count,
                  "sum \(result.sum) vs \(ref.sum)")
    }
}

extension CommSelfTest {
    /// Walks 1F1B (or interleaved) plans over the pipeline group with 256 KB messages (Open MPI's
    /// rendezvous path, where a send needs its receive): forward and backward each add 1 per
    /// virtual stage, so the last stage must see `mb·100 + p·v` and the first `mb·100 + 2·p·v − 1`.
    fileprivate func pipelineWalk(_ pipeline: any Communicator, virtualStages v: Int, log: CheckLog) throws {
        let p = pipeline.size, m = 2 * p, last = p * v - 1
        let plan = try PipelineSchedule(stages: p, microBatches: m, virtualStages: v, stage: pipeline.rank)
        var forwardOK = true, backwardOK = true
        try PipelineRunner(schedule: plan, group: pipeline, activationCount: 1 << 16).run(
            forward: { action, input, output in
                let x = input?.first ?? Float(100 * action.microBatch)
                forwardOK = forwardOK && (input?.allSatisfy { $0 == x } ?? true)
                output.update(repeating: x + 1)
                if action.chunk * p + pipeline.rank == last { forwardOK = forwardOK && x + 1 == Float(100 * action.microBatch + p * v) }
            },
            backward: { action, outputGradient, inputGradient in
                let g = outputGradient?.first ?? Float(100 * action.microBatch + p * v)
                inputGradient.update(repeating: g + 1)
                if action.chunk * p + pipeline.rank == 0, outputGradient != nil {
                    backwardOK = backwardOK && g == Float(100 * action.microBatch + 2 * p * v - 1)
                }
            })
        log.check(pipeline.name, "pipeline walk, \(m) micro-batches, \(v) chunk\(v == 1 ? "" : "s")", forwardOK && backwardOK)
    }

    /// ZeRO reduce-scatter + all-gather and bucketed all-reduce over the data-parallel group.
    fileprivate func zeroAndBuckets(_ data: any Communicator, log: CheckLog) throws {
        let n = data.size, count = 10_007
        let mine = Float(data.worldRanks[data.rank])
        let sumW = Float(data.worldRanks.reduce(0, +))
        let shards = ZeroShards(count: count, shards: n)
        var grad = [Float](repeating: 0, count: shards.paddedCount)
        for i in 0..<count { grad[i] = Float(i % 97) + mine }
        try grad.withUnsafeMutableBufferPointer { try ZeroCollectives.reduceScatterGradients($0, shards: shards, group: data) }
        let ownOK = shards.range(of: data.rank).allSatisfy { grad[$0] == Float(n * ($0 % 97)) + sumW }
        var params = [Float](repeating: -1, count: shards.paddedCount)
        for i in shards.range(of: data.rank) { params[i] = Float(i) }
        try params.withUnsafeMutableBufferPointer { try ZeroCollectives.allGatherParameters($0, shards: shards, group: data) }
        log.check(data.name, "ZeRO reduce-scatter + all-gather", ownOK && (0..<count).allSatisfy { params[$0] == Float($0) })

        var g = (0..<count).map { Float($0 % 13) * (mine + 1) }
        try g.withUnsafeMutableBufferPointer { buffer in
            let buckets = GradientBuckets(count: count, group: data, bucketBytes: 4096, boundaries: Array(stride(from: 0, to: count, by: 1000)))
            for layerStart in stride(from: 9000, through: 0, by: -1000) {
                try buckets.gradientsReady(from: layerStart, in: buffer)
            }
            try buckets.wait(buffer, scale: 1 / Float(n))
        }
        let mean = (sumW + Float(n)) / Float(n)
        log.check(data.name, "bucketed all-reduce", (0..<count).allSatisfy { abs(g[$0] - Float($0 % 13) * mean) <= 1e-5 * max(1, g[$0]) })
    }
}

/// Counts and prints checks with the rank's prefix.
fileprivate final class CheckLog {
    let prefix: String
    let verbose: Bool
    var passed = 0, failed = 0
    init(prefix: String, verbose: Bool) { self.prefix = prefix; self.verbose = verbose }

    func check(_ group: String, _ name: String, _ ok: Bool, _ detail: @autoclosure () -> String = "") {
        if ok { passed += 1 } else { failed += 1 }
        if !ok || verbose {
            let extra = ok ? "" : detail()
            emit("\(prefix) \(ok ? "ok" : "FAIL"): \(group): \(name)\(extra.isEmpty ? "" : " (\(extra))")")
        }
    }

    func summary(_ group: String, failedBefore: Int) {
        emit("\(prefix) \(group): \(failed == failedBefore ? "all checks passed" : "\(failed - failedBefore) checks FAILED")")
    }
}

struct CommHangTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hang-test",
        abstract: "Make one rank skip a collective and show that the job ends with the timeout error (exit non-zero).",
        discussion: "Expected: every rank is aborted after --timeout seconds with an error naming the operation, the group and the missing rank.")

    @Option(help: "Seconds before the waiting ranks give up.") var timeout: Double = 3
    @Option(help: "World rank that skips the collective.") var skip = 1
    @Option(help: "Group to run the collective on: world, tp, pp or dp.") var group = "world"
    @Option(help: "Tensor-parallel degree (for --group).") var tp = 1
    @Option(help: "Pipeline-parallel degree (for --group).") var pp = 1

    func run() throws {
        let world = MPICommunicator.world()
        world.timeout = timeout
        guard world.size >= 2 else { throw ValidationError("hang-test needs at least 2 ranks (mpirun -np 2 …)") }
        guard skip >= 0 && skip < world.size else { throw ValidationError("--skip must be a rank below \(world.size)") }
        let grid: ProcessGrid
        do { grid = try ProcessGrid(worldSize: world.size, tensorParallel: tp, pipelineParallel: pp) } catch { throw ValidationError("\(error)") }
        let groups = try ParallelGroups(world: world, grid: grid)
        let comm: any Communicator
        switch group {
        case "world": comm = world
        case "tp": comm = groups.tensor
        case "pp": comm = groups.pipeline
        case "dp": comm = groups.data
        default: throw ValidationError("--group must be world, tp, pp or dp, got '\(group)'")
        }
        try world.barrier()
        let prefix = "[rank \(world.rank) \(grid.logPrefix(rank: world.rank).dropFirst())"
        if world.rank == skip {
            emit("\(prefix) skipping the all-reduce on \(comm.name)")
            // Stay alive (a hung rank, not a dead one) until the others abort the job.
            Thread.sleep(forTimeInterval: timeout + 60)
        } else {
            var x = [Float](repeating: 1, count: 1024)
            try comm.allReduce(&x, op: .sum)
            if !comm.worldRanks.contains(skip) {
                // Ranks of other groups wait here instead, longer, so that the error printed first
                // is the one from the skipped group.
                world.timeout = 3 * timeout
                try world.barrier()
            }
        }
        emit("\(prefix) hang-test: the collective completed although rank \(skip) skipped it")
        throw ExitCode(2)
    }
}

struct CommBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "All-reduce time and bandwidth for 1 KB – 64 MB, with and without the timeout machinery.",
        discussion: """
            'checked' is the default path (arrival tokens, then a polled non-blocking all-reduce); 'plain' is \
            MPI_Allreduce with timeouts off (MONOLITH_COMM_TIMEOUT=0). Bandwidths follow nccl-tests: algbw = bytes / \
            time, busbw = algbw · 2(n−1)/n. Times are the slowest rank's mean per operation.
            """)

    @Option(help: "Smallest message in bytes.") var minBytes = 1 << 10
    @Option(help: "Largest message in bytes.") var maxBytes = 64 << 20
    @Flag(help: "Print one JSON object (rank 0).") var json = false

    struct Row: Codable { let bytes: Int, mode: String, reps: Int, microseconds: Double, algbwGBps: Double, busbwGBps: Double }
    struct Report: Codable { let ranks: Int, results: [Row] }

    func run() throws {
        guard minBytes >= 4 && maxBytes >= minBytes else { throw ValidationError("need 4 ≤ --min-bytes ≤ --max-bytes") }
        let world = MPICommunicator.world()
        let checkedTimeout = world.timeout > 0 ? world.timeout : 300
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: maxBytes / 4)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var rows: [Row] = []
        var bytes = minBytes
        while bytes <= maxBytes {
            let view = UnsafeMutableBufferPointer(rebasing: buffer[0..<(bytes / 4)])
            let reps = max(3, min(200, (32 << 20) / bytes))
            for (mode, timeout) in [("checked", checkedTimeout), ("plain", 0.0)] {
                world.timeout = timeout
                try world.allReduce(view, op: .sum)  // warm-up (and first-touch of the buffer)
                try world.barrier()
                let start = Date()
                for _ in 0..<reps { try world.allReduce(view, op: .sum) }
                let mine = Date().timeIntervalSince(start) / Double(reps)
                world.timeout = checkedTimeout
                let slowest = try world.allReduce(mine, op: .max)
                let algbw = Double(bytes) / slowest / 1e9
                let n = Double(world.size)
                rows.append(Row(bytes: bytes, mode: mode, reps: reps, microseconds: slowest * 1e6,
                                algbwGBps: algbw, busbwGBps: n > 1 ? algbw * 2 * (n - 1) / n : algbw))
            }
            bytes *= 4
        }
        guard world.rank == 0 else { return }
        if json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(Report(ranks: world.size, results: rows)), encoding: .utf8)!)
        } else {
            print("all-reduce (sum, Float) on \(world.size) rank\(world.size == 1 ? "" : "s")")
            print("     bytes  mode        µs/op   algbw GB/s   busbw GB/s")
            for row in rows {
                print(String(format: "%10d  %-7@ %10.1f %12.3f %12.3f", row.bytes, row.mode as NSString, row.microseconds, row.algbwGBps, row.busbwGBps))
            }
        }
    }
}
