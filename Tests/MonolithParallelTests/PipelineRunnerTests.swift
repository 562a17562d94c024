@testable import MonolithParallel
import Testing

/// Walking the plans over real send/receive: every activation reaches the next virtual stage and
/// every gradient the previous one, in the order the plans imply.
@Suite("Pipeline runner")
struct PipelineRunnerTests {
    @Test("each virtual stage adds 1 forward and 1 backward; the ends see the right totals",
          arguments: [(1, 3, 1), (2, 4, 1), (4, 8, 1), (4, 3, 1), (2, 4, 2), (4, 8, 2), (3, 6, 3)])
    func walk(p: Int, m: Int, v: Int) throws {
        let results = try PipelineRunnerTests.walk(world: InProcessWorld(size: p), m: m, v: v, count: 5)
        for (stage, (losses, inputGradients)) in results.enumerated() {
            if stage == p - 1 { #expect(losses == (0..<m).map { Float(100 * $0 + p * v) }) }
            if stage == 0 && p * v > 1 { #expect(inputGradients == (0..<m).map { Float(100 * $0 + 2 * p * v - 1) }) }
        }
    }

    /// Runs the step with a toy "model": forward adds 1, backward adds 1. Returns, per stage, the
    /// last virtual stage's outputs by micro-batch and the first virtual stage's received gradients.
    static func walk(world: InProcessWorld, m: Int, v: Int, count: Int) throws -> [([Float], [Float])] {
        try world.run { comm -> ([Float], [Float]) in
            let p = comm.size, last = p * v - 1
            let plan = try PipelineSchedule(stages: p, microBatches: m, virtualStages: v, stage: comm.rank)
            var losses = [Float](repeating: -1, count: m), gradients = [Float](repeating: -1, count: m)
            try PipelineRunner(schedule: plan, group: comm, activationCount: count).run(
                forward: { action, input, output in
                    let x = input?.first ?? Float(100 * action.microBatch)
                    #expect(input?.allSatisfy { $0 == x } ?? true)
                    output.update(repeating: x + 1)
                    if action.chunk * p + comm.rank == last { losses[action.microBatch] = x + 1 }
                },
                backward: { action, outputGradient, inputGradient in
                    let g = outputGradient?.first ?? Float(100 * action.microBatch + p * v)
                    inputGradient.update(repeating: g + 1)
                    if action.chunk * p + comm.rank == 0, outputGradient != nil { gradients[action.microBatch] = g }
                })
            return (losses, gradients)
        }
    }
}
