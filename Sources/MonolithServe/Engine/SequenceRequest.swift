import MonolithInference

/// How one sequence is generated: the sampling fields of an OpenAI request, validated.
public struct SamplingOptions: Sendable {
    /// Most tokens to generate (0: score the prompt only).
    public var maxTokens = 16
    /// 0 is greedy.
    public var temperature: Float = 1
    /// Nucleus mass (1: off) and top-k (0: off).
    public var topP: Float = 1, topK = 0
    /// Seed of this sequence's sampler (nil: drawn from the request's id).
    public var seed: UInt64? = nil
    /// Strings that end the text (not included), matched across token boundaries.
    public var stop: [String] = []
    /// Keep going past the end-of-text token.
    public var ignoreEOS = false
    /// Log-probabilities of the chosen tokens with this many alternatives each (nil: none).
    public var logprobs: Int? = nil
    /// Also score the prompt (OpenAI's `echo`; with `logprobs`, each prompt token's log-probability).
    public var echo = false

    public init() {}

    /// Every prompt position's log-probability is reported (`echo` with `logprobs`), so the whole
    /// prompt must run, none of it taken from the prefix cache.
    var scoresPrompt: Bool { echo && logprobs != nil }

    /// The sampler these options describe, seeded with `seed`, or `fallbackSeed` when none was given.
    func sampler(fallbackSeed: UInt64) -> Sampler {
        Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed ?? fallbackSeed)
    }
}

/// One token's log-probability and the most likely alternatives at its position.
public struct TokenLogprob: Sendable {
    public let token: Int32
    public let logprob: Float
    public let top: [(token: Int32, logprob: Float)]
}

/// Why a sequence ended, in OpenAI's words.
public enum FinishReason: String, Sendable {
    case stop, length
    /// Cancelled: the client went away or the server is shutting down (vLLM's word).
    case abort
}

/// What the engine reports about one sequence, in order: the prompt's scores (if asked), each
/// generated token with the text it settles, then the end.
public enum SequenceEvent: Sendable {
    /// Log-probabilities of prompt tokens 1..<n (position 0 has none), when `echo` and `logprobs` ask.
    case prompt([TokenLogprob])
    /// A generated token, the text it makes final (possibly empty while a stop string or a UTF-8
    /// character is incomplete), and its log-probability when asked.
    case token(id: Int32, text: String, logprob: TokenLogprob?)
    /// The end: the reason, and the prompt and generated token counts.
    case finished(FinishReason, promptTokens: Int, completionTokens: Int)
    /// The request cannot be served (for example it no longer fits the cache).
    case failed(APIError)
}
