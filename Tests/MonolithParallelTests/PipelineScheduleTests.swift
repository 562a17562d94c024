import MonolithTestSupport
@testable import MonolithParallel
import Testing

/// `Tests/Fixtures/schedules/pipeline_schedules.json`, written by scripts/make_schedule_fixtures.py.
struct ScheduleFixture: Decodable {
    struct Schedule: Decodable, Sendable, CustomTestStringConvertible {
        let pp: Int, microbatches: Int, vp: Int
        /// Forwards before the first backward, per stage.
        let warmup: [Int]
        /// Each stage's actions, space-separated, as `PipelineAction.description` prints them.
        let order: [String]
        var testDescription: String { "pp \(pp), m \(microbatches), v \(vp)" }
    }

    struct Table: Decodable {
        let microbatches: Int, vp: Int, group: Int
        /// (micro-batch, chunk) of each forward.
        let table: [[Int]]
    }

    let schedules: [Schedule]
    let tables: [Table]

    static let loaded = try! TestFixtures.json(ScheduleFixture.self, "schedules/pipeline_schedules.json")
}

/// The 1F1B and interleaved plans: structural properties for many sizes, Megatron's warm-up
/// counts and forward order, matched sends and receives, and the bubble on a unit-time clock.
@Suite("Pipeline schedules")
struct PipelineScheduleTests {
    /// (pp, micro-batches, virtual stages); interleaved cases have m % pp == 0.
    static let shapes: [(p: Int, m: Int, v: Int)] = [
        (1, 1, 1), (1, 4, 1), (2, 1, 1), (2, 3, 1), (4, 2, 1), (4, 8, 1), (4, 16, 1), (3, 7, 1), (8, 8, 1),
        (2, 2, 2), (2, 4, 2), (4, 4, 2), (4, 8, 2), (4, 8, 3), (3, 6, 4), (2, 8, 3), (4, 16, 2),
    ]

    @Test("every (micro-batch, chunk) runs forward once and backward once, forward first", arguments: shapes)
    func everyActionOnceInOrder(shape: (p: Int, m: Int, v: Int)) throws {
        for plan in try PipelineSchedule.all(stages: shape.p, microBatches: shape.m, virtualStages: shape.v) {
            var forwardAt: [[Int]: Int] = [:], backwardAt: [[Int]: Int] = [:]
            for (i, a) in plan.actions.enumerated() {
                let key = [a.microBatch, a.chunk]
                if a.kind == .forward {
                    #expect(forwardAt.updateValue(i, forKey: key) == nil, "F\(key) twice on stage \(plan.stage)")
                } else {
                    #expect(backwardAt.updateValue(i, forKey: key) == nil, "B\(key) twice on stage \(plan.stage)")
                }
            }
            let all = Set((0..<shape.m).flatMap { mb in (0..<shape.v).map { [mb, $0] } })
            #expect(Set(forwardAt.keys) == all)
            #expect(Set(backwardAt.keys) == all)
            for key in all { #expect(forwardAt[key]! < backwardAt[key]!, "F\(key) after B\(key) on stage \(plan.stage)") }
        }
    }

    @Test("1F1B warm-up is min(p − stage − 1, m) forwards, then alternation, then cool-down", arguments: shapes.filter { $0.v == 1 })
    func oneFOneBPhases(shape: (p: Int, m: Int, v: Int)) throws {
        for plan in try PipelineSchedule.all(stages: shape.p, microBatches: shape.m) {
            let warm = min(shape.p - plan.stage - 1, shape.m)
            #expect(plan.warmup == warm)
            let kinds = plan.actions.map { $0.kind == .forward ? "F" : "B" }.joined()
            let steady = shape.m - warm
            #expect(kinds == String(repeating: "F", count: warm) + String(repeating: "FB", count: steady) + String(repeating: "B", count: warm))
            // Micro-batches in order in each direction.
            #expect(plan.actions.filter { $0.kind == .forward }.map(\.microBatch) == Array(0..<shape.m))
            #expect(plan.actions.filter { $0.kind == .backward }.map(\.microBatch) == Array(0..<shape.m))
        }
    }

    /// The whole order of every stage, against Megatron-Core's schedules as transcribed in
    /// scripts/make_schedule_fixtures.py (its `forward_backward_pipelining_without_interleaving`
    /// and `_with_interleaving` loops, default group size pp). Includes the doc comment's example
    /// (pp 4, m 8, stage 1: F0 F1 F2 B0 F3 B1 … B7).
    @Test("each stage's order and warm-up are Megatron-Core's", arguments: ScheduleFixture.loaded.schedules)
    func matchesMegatronCore(expected: ScheduleFixture.Schedule) throws {
        let plans = try PipelineSchedule.all(stages: expected.pp, microBatches: expected.microbatches,
                                             virtualStages: expected.vp)
        #expect(plans.map(\.warmup) == expected.warmup)
        for (plan, order) in zip(plans, expected.order) {
            #expect(plan.actions.map(\.description).joined(separator: " ") == order, "stage \(plan.stage)")
        }
    }

    /// Megatron-Core's `get_schedule_table`, including its docstring example (PP 2, 5 micro-batches
    /// in groups of 3, VP 2), whose last group is short.
    @Test("interleaved forward order is Megatron-Core's schedule table")
    func megatronTable() {
        for t in ScheduleFixture.loaded.tables {
            let table = PipelineSchedule.forwardTable(microBatches: t.microbatches, virtualStages: t.vp, groupSize: t.group)
            #expect(table.map { [$0.microBatch, $0.chunk] } == t.table, "m \(t.microbatches), v \(t.vp), group \(t.group)")
        }
    }

    @Test("interleaved warm-up is (p − stage − 1)·2 + (v − 1)·p, capped at m·v", arguments: shapes.filter { $0.v > 1 })
    func interleavedWarmup(shape: (p: Int, m: Int, v: Int)) throws {
        for plan in try PipelineSchedule.all(stages: shape.p, microBatches: shape.m, virtualStages: shape.v) {
            let expected = min((shape.p - plan.stage - 1) * 2 + (shape.v - 1) * shape.p, shape.m * shape.v)
            #expect(plan.warmup == expected)
            // The steady state opens with a forward, so the first backward follows one more forward
            // (unless every forward was warm-up).
            let firstBackward = plan.actions.firstIndex { $0.kind == .backward }!
            #expect(firstBackward == (expected < shape.m * shape.v ? expected + 1 : expected))
            // Backwards start on the last chunk and mirror the forward table.
            #expect(plan.actions[firstBackward].chunk == shape.v - 1)
        }
    }

    @Test("every send has exactly one matching receive on the peer, with the same tag", arguments: shapes)
    func sendsMatchReceives(shape: (p: Int, m: Int, v: Int)) throws {
        let plans = try PipelineSchedule.all(stages: shape.p, microBatches: shape.m, virtualStages: shape.v)
        var sends: [String: Int] = [:], receives: [String: Int] = [:]
        for plan in plans {
            for a in plan.actions {
                if let s = a.send { sends["\(plan.stage)->\(s.peer) tag \(s.tag)", default: 0] += 1 }
                if let r = a.receive { receives["\(r.peer)->\(plan.stage) tag \(r.tag)", default: 0] += 1 }
            }
        }
        #expect(sends == receives)
        #expect(sends.values.allSatisfy { $0 == 1 })
        // Two transfers (activation + gradient) per micro-batch per virtual-stage boundary.
        #expect(sends.count == 2 * shape.m * (shape.p * shape.v - 1))
    }

    @Test("1F1B bubble on a unit-time clock is (p − 1)/m, and in-flight micro-batches are p − stage",
          arguments: shapes.filter { $0.v == 1 && $0.m >= $0.p })
    func oneFOneBBubble(shape: (p: Int, m: Int, v: Int)) throws {
        let sim = try PipelineSimulation.run(try PipelineSchedule.all(stages: shape.p, microBatches: shape.m))
        #expect(abs(sim.bubbleFraction - Double(shape.p - 1) / Double(shape.m)) < 1e-12)
        #expect(sim.peakInFlight == (0..<shape.p).map { shape.p - $0 })
    }

    @Test("interleaved bubble is (p − 1)/(v·m) within one op of rounding", arguments: shapes.filter { $0.v > 1 })
    func interleavedBubble(shape: (p: Int, m: Int, v: Int)) throws {
        let plans = try PipelineSchedule.all(stages: shape.p, microBatches: shape.m, virtualStages: shape.v)
        let sim = try PipelineSimulation.run(plans)
        let theory = plans[0].theoreticalBubble
        // One chunk op is 1/(2·m·v) of the work: allow that much discreteness.
        #expect(abs(sim.bubbleFraction - theory) <= 1.0 / Double(2 * shape.m * shape.v) + 1e-12,
                "simulated \(sim.bubbleFraction) vs \(theory)")
        let plain = try PipelineSimulation.run(try PipelineSchedule.all(stages: shape.p, microBatches: shape.m))
        #expect(sim.bubbleFraction < plain.bubbleFraction || shape.p == 1)
    }

    @Test("bad sizes are refused with the constraint")
    func invalid() {
        let e1 = #expect(throws: LayoutError.self) { try PipelineSchedule(stages: 4, microBatches: 6, virtualStages: 2, stage: 0) }
        #expect(e1?.constraint == "micro-batches % pp == 0 (interleaved 1F1B)")
        let e2 = #expect(throws: LayoutError.self) { try PipelineSchedule(stages: 1, microBatches: 4, virtualStages: 2, stage: 0) }
        #expect(e2?.constraint == "virtual stages > 1 needs pp > 1")
        #expect(throws: LayoutError.self) { try PipelineSchedule(stages: 2, microBatches: 4, stage: 2) }
    }

    @Test("a plan with a reversed order is reported as a deadlock")
    func deadlockDetected() throws {
        var plans = try PipelineSchedule.all(stages: 2, microBatches: 2)
        // Stage 0 insisting on backward 1 before forward 1 can never finish.
        let p = plans[0]
        let reordered = [p.actions[0], p.actions[3], p.actions[1], p.actions[2]]
        plans[0] = PipelineSchedule(copying: p, actions: reordered)
        #expect(throws: PipelineSimulation.Deadlock.self) { try PipelineSimulation.run(plans) }
    }
}

extension PipelineSchedule {
    /// Test-only: the same plan with its actions replaced.
    init(copying other: PipelineSchedule, actions: [PipelineAction]) {
        self = other
        self.actions = actions
    }
}
