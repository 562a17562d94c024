import MonolithKernels
import MonolithModel

/// Autoregressive generation for one sequence: prefill the prompt, then decode token by token.
public struct Generator {
    /// Timing of one generation, for `monolith bench generate`.
    public struct Timing: Sendable {
        /// Prompt tokens and the seconds their prefill took.
        public var promptTokens = 0, promptSeconds = 0.0
        /// Generated tokens and the seconds decoding took (the first token comes from prefill).
        public var decodedTokens = 0, decodeSeconds = 0.0
        /// Zero timings.
        public init() {}
    }

    /// The decoding session (owns the KV cache).
    public let session: DecodeSession

    /// A generator over `model` with room for `capacity` positions (default: context length),
    /// reading `weights` (see ``DecodeSession/Weights``).
    public init(model: GPT, capacity: Int? = nil, weights: DecodeSession.Weights = .fp32) throws {
        session = try DecodeSession(model: model, slots: 1, capacity: capacity, weights: weights)
    }

    /// Generates up to `maxNewTokens` after `prompt`, stopping early at `stop` (not included).
    /// `onToken` sees each new id as it is chosen (for streaming). Returns the new ids.
    ///
    /// With `slidingWindow`, generation may run past the context: when the cache is full, the
    /// newest half of the context is processed again as a fresh prompt and decoding continues.
    public func generate(prompt: [Int32], maxNewTokens: Int, sampler: inout Sampler, stop: Int32? = nil,
                         slidingWindow: Bool = false,
                         timing: UnsafeMutablePointer<Timing>? = nil, onToken: ((Int32) -> Void)? = nil) throws -> [Int32] {
        guard !prompt.isEmpty else { throw ModelInputError("the prompt is empty") }
        let capacity = session.cache.capacity
        if slidingWindow && prompt.count > capacity {
            throw ModelInputError("the prompt (\(prompt.count) tokens) is longer than the context (\(capacity))")
        }
        guard slidingWindow || prompt.count + maxNewTokens <= capacity else {
            throw ModelInputError("prompt (\(prompt.count) tokens) + max new tokens (\(maxNewTokens)) exceeds the context of \(capacity)")
        }
        var t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try session.prefill(prompt)
        timing?.pointee.promptTokens = prompt.count
        timing?.pointee.promptSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        t0 = DispatchTime.now().uptimeNanoseconds
        var out: [Int32] = []
        while out.count < maxNewTokens {
            let next = sampler.next(logits)
            if let stop, next == stop { break }
            out.append(next)
            onToken?(next)
            if out.count == maxNewTokens { break }
            if session.cache.lengths[0] == capacity {
                let keep = Array((prompt + out).suffix(max(1, capacity / 2)))
                logits = try session.prefill(keep)
                continue
            }
            logits = try session.decode([next])
        }
        timing?.pointee.decodedTokens = max(0, out.count - 1)
        timing?.pointee.decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return out
    }
}

import Foundation
