/// Runs the plans of all stages on a model clock: each action takes a fixed time, starts when its
/// stage is free and its input has been produced, and sends never block (they are posted
/// non-blocking). Gives the step time, each stage's idle fraction, and the peak number of
/// micro-batches whose activations a stage holds; reports a deadlock if the plans can never finish.
///
/// This is how the schedules are tested (bubble `(p − 1)/m` for 1F1B, `(p − 1)/(v·m)`
/// interleaved), and what `monolith bench train` prints as the theory next to the measured bubble.
///
/// ```swift
/// let result = try PipelineSimulation.run(try PipelineSchedule.all(stages: 4, microBatches: 8))
/// result.bubbleFraction   // 0.375 = 3/8
/// ```
public struct PipelineSimulation: Sendable, Equatable {
    /// Time from the first action's start to the last one's end.
    public let makespan: Double
    /// Per stage, time spent computing.
    public let busy: [Double]
    /// Per stage, the most micro-batch chunks forwarded but not yet backwarded.
    public let peakInFlight: [Int]
    /// Idle time over compute time, `(makespan − busy) / busy`, for the busiest stage; the figure
    /// that `(p − 1)/m` predicts.
    public var bubbleFraction: Double {
        let work = busy.max() ?? 0
        return work > 0 ? (makespan - work) / work : 0
    }

    /// A plan that cannot complete: every stage waits on an input that is never produced.
    public struct Deadlock: Error, CustomStringConvertible {
        /// What each unfinished stage was waiting to run.
        public let waiting: [String]
        public var description: String { "pipeline plans deadlock: " + waiting.joined(separator: "; ") }
    }

    /// Simulates `plans` (one per stage, as from ``PipelineSchedule/all(stages:microBatches:virtualStages:)``)
    /// with the given cost of one chunk's forward and backward.
    public static func run(_ plans: [PipelineSchedule], forwardTime: Double = 1, backwardTime: Double = 1) throws(Deadlock) -> PipelineSimulation {
        let p = plans.count
        let v = plans.first?.virtualStages ?? 1
        struct Key: Hashable { let backward: Bool, microBatch: Int, virtualStage: Int }
        var finished: [Key: Double] = [:]
        var next = Array(repeating: 0, count: p)
        var clock = Array(repeating: 0.0, count: p)
        var busy = Array(repeating: 0.0, count: p)
        var inFlight = Array(repeating: 0, count: p), peak = Array(repeating: 0, count: p)
        let last = p * v - 1

        // Repeatedly run any stage whose next action has its input; in-order per stage, so this is
        // exactly what the stages would do with non-blocking sends and blocking receives.
        var progressed = true
        while progressed {
            progressed = false
            for s in 0..<p where next[s] < plans[s].actions.count {
                let a = plans[s].actions[next[s]]
                let vs = a.chunk * p + s
                let dependency: Key? = switch a.kind {
                case .forward: vs > 0 ? Key(backward: false, microBatch: a.microBatch, virtualStage: vs - 1) : nil
                case .backward: vs < last ? Key(backward: true, microBatch: a.microBatch, virtualStage: vs + 1)
                                          : Key(backward: false, microBatch: a.microBatch, virtualStage: vs)
                }
                var ready = clock[s]
                if let dependency {
                    guard let t = finished[dependency] else { continue }
                    ready = max(ready, t)
                }
                let cost = a.kind == .forward ? forwardTime : backwardTime
                clock[s] = ready + cost
                busy[s] += cost
                finished[Key(backward: a.kind == .backward, microBatch: a.microBatch, virtualStage: vs)] = clock[s]
                inFlight[s] += a.kind == .forward ? 1 : -1
                peak[s] = max(peak[s], inFlight[s])
                next[s] += 1
                progressed = true
            }
        }
        let stuck = (0..<p).filter { next[$0] < plans[$0].actions.count }
        if !stuck.isEmpty {
            throw Deadlock(waiting: stuck.map { "stage \($0) at \(plans[$0].actions[next[$0]])" })
        }
        return PipelineSimulation(makespan: clock.max() ?? 0, busy: busy, peakInFlight: peak)
    }
}
