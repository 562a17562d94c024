import Foundation

/// Walks one stage's ``PipelineSchedule`` over the pipeline group: receives each action's input,
/// calls the compute closure, and sends its result, so the model code only sees buffers.
///
/// Receives block just before computing and sends are non-blocking, which is deadlock-free for
/// these plans (``PipelineSimulation`` checks exactly this execution model). A send's buffer is
/// recycled once MPI has finished with it, so memory stays at the few messages in flight.
///
/// ```swift
/// let plan = try PipelineSchedule(stages: pp, microBatches: m, virtualStages: v, stage: groups.coordinates.pp)
/// let runner = PipelineRunner(schedule: plan, group: groups.pipeline, activationCount: B * T * C)
/// try runner.run(
///     forward: { action, input, output in /* chunk action.chunk on micro-batch action.microBatch */ },
///     backward: { action, outputGradient, inputGradient in /* … */ })
/// ```
public struct PipelineRunner {
    /// The plan being walked.
    public let schedule: PipelineSchedule
    /// The pipeline communicator (its rank is the stage).
    public let group: any Communicator
    /// Floats in one activation (and its gradient) between stages: `B·T·C`, or `B·T·C/tp` with
    /// sequence parallelism.
    public let activationCount: Int

    /// A runner for `schedule` on `group`, whose rank must be the schedule's stage.
    public init(schedule: PipelineSchedule, group: any Communicator, activationCount: Int) {
        precondition(group.size == schedule.stages && group.rank == schedule.stage,
                     "pipeline group \(group.name) does not match stage \(schedule.stage) of \(schedule.stages)")
        self.schedule = schedule
        self.group = group
        self.activationCount = activationCount
    }

    /// Runs the step; returns the seconds spent blocked on receives and on the final sends, the
    /// stage's idle time (its share of the pipeline bubble, plus transfer time).
    ///
    /// - `forward(action, input, output)`: `input` is the received activation, `nil` on the first
    ///   virtual stage (read the tokens); write the result to `output` (sent on, ignored on the last
    ///   virtual stage, which computes the loss instead).
    /// - `backward(action, outputGradient, inputGradient)`: `outputGradient` is received, `nil` on
    ///   the last virtual stage (start from the loss); write the gradient of the chunk's input to
    ///   `inputGradient` (sent back, ignored on the first virtual stage).
    @discardableResult
    public func run(
        forward: (PipelineAction, UnsafeBufferPointer<Float>?, UnsafeMutableBufferPointer<Float>) throws -> Void,
        backward: (PipelineAction, UnsafeBufferPointer<Float>?, UnsafeMutableBufferPointer<Float>) throws -> Void
    ) throws -> Double {
        let n = activationCount
        let received = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, n))
        received.initialize(repeating: 0)
        var free: [UnsafeMutableBufferPointer<Float>] = []
        var inFlight: [(request: any CommRequest, buffer: UnsafeMutableBufferPointer<Float>)] = []
        defer {
            received.deallocate()
            for b in free { b.deallocate() }
            for s in inFlight { s.buffer.deallocate() }  // only reached on an error path
        }
        func outputBuffer() throws -> UnsafeMutableBufferPointer<Float> {
            // Recycle the buffers of sends that have completed.
            var i = 0
            while i < inFlight.count {
                if try inFlight[i].request.test() { free.append(inFlight.remove(at: i).buffer) } else { i += 1 }
            }
            if let b = free.popLast() { return b }
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, n))
            b.initialize(repeating: 0)
            return b
        }
        let input = UnsafeMutableBufferPointer(rebasing: received[0..<n])
        var waited: UInt64 = 0
        func blocked(_ body: () throws -> Void) rethrows {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            waited += DispatchTime.now().uptimeNanoseconds - t0
        }

        for action in schedule.actions {
            var incoming: UnsafeBufferPointer<Float>?
            if let r = action.receive {
                try blocked { try group.receive(into: input, from: r.peer, tag: r.tag) }
                incoming = UnsafeBufferPointer(input)
            }
            let out = try outputBuffer()
            let view = UnsafeMutableBufferPointer(rebasing: out[0..<n])
            if action.kind == .forward { try forward(action, incoming, view) } else { try backward(action, incoming, view) }
            if let s = action.send {
                inFlight.append((try group.startSend(UnsafeBufferPointer(view), to: s.peer, tag: s.tag), out))
            } else {
                free.append(out)
            }
        }
        try blocked { for s in inFlight { try s.request.wait() } }
        free += inFlight.map(\.buffer)
        inFlight.removeAll()
        return Double(waited) / 1e9
    }
}
