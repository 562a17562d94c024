import MonolithKernels
import MonolithTokenizer

/// A request in tokens, as lm-eval's `hf` model prepares it for a causal model: the tokens whose
/// last `continuationCount` are scored, already cut to the model's window.
public struct TokenizedRequest: Hashable, Sendable {
    /// Context and continuation tokens, left-truncated to at most `maxLength + 1`.
    public let tokens: [Int32]
    /// How many of the last `tokens` are the continuation.
    public let continuationCount: Int
    /// Tokens cut from the left to fit the model's window (0 when none).
    public let truncated: Int

    public init(tokens: [Int32], continuationCount: Int, truncated: Int) {
        self.tokens = tokens; self.continuationCount = continuationCount; self.truncated = truncated
    }

    /// The model's input: every token but the last.
    public var inputCount: Int { tokens.count - 1 }
    /// The first input position whose logits are scored.
    public var firstScored: Int { tokens.count - 1 - continuationCount }
}

/// lm-eval's `loglikelihood` → `_encode_pair` → `_loglikelihood_tokens` preparation.
///
/// - An empty context becomes the end-of-text token (the continuation's own first token when it
///   is that token).
/// - Trailing whitespace of the context (Python's `rstrip()`) moves to the continuation.
/// - Context and continuation are encoded as one string and split at `len(encode(context))`.
/// - The sequence keeps its last `maxLength + 1` tokens; the model reads all but the last.
public struct RequestEncoder: Sendable {
    public let tokenizer: any TextTokenizer
    /// The model's window (`max_length`: `n_positions` for GPT-2).
    public let maxLength: Int
    /// The end-of-text id used for an empty context (lm-eval's `prefix_token_id`); a tokenizer
    /// without one (a character-level model) can score every request whose context is not empty.
    public let prefixToken: Int32?

    public init(tokenizer: any TextTokenizer, maxLength: Int, prefixToken: Int32?) {
        self.tokenizer = tokenizer; self.maxLength = maxLength; self.prefixToken = prefixToken
    }

    /// The context and continuation token ids of `request`, before truncation.
    public func encodePair(_ request: LoglikelihoodRequest) throws -> (context: [Int32], continuation: [Int32]) {
        if request.context.isEmpty {
            guard let prefixToken else {
                throw EvalError("a request has an empty context, which lm-eval replaces by the end-of-text token, but the tokenizer has none")
            }
            let continuation = tokenizer.encode(request.continuation)
            guard let first = continuation.first else { throw EvalError("a request has an empty context and an empty continuation") }
            return first == prefixToken ? ([first], Array(continuation.dropFirst())) : ([prefixToken], continuation)
        }
        var context = request.context, continuation = request.continuation
        let stripped = PythonString.rstrip(context)
        let moved = context.unicodeScalars.count - stripped.unicodeScalars.count
        if moved > 0 {
            continuation = String(String.UnicodeScalarView(context.unicodeScalars.suffix(moved))) + continuation
            context = stripped
        }
        let whole = tokenizer.encode(context + continuation)
        let contextTokens = tokenizer.encode(context)
        return (contextTokens, Array(whole.dropFirst(min(contextTokens.count, whole.count))))
    }

    /// The request ready to score; a continuation with no tokens, or longer than the window, is
    /// an error (lm-eval asserts both).
    public func encode(_ request: LoglikelihoodRequest) throws -> TokenizedRequest {
        let (context, continuation) = try encodePair(request)
        guard !continuation.isEmpty else {
            throw EvalError("the continuation \(JSONValue.string(request.continuation).excerpt) has no tokens of its own after the context \(JSONValue.string(String(request.context.suffix(40))).excerpt) (the tokenizer merged it into the context)")
        }
        guard !context.isEmpty else { throw EvalError("the context \(JSONValue.string(request.context).excerpt) encodes to no tokens") }
        guard continuation.count <= maxLength else {
            throw EvalError("the continuation \(JSONValue.string(request.continuation).excerpt) has \(continuation.count) tokens, more than the model's context of \(maxLength)")
        }
        let all = context + continuation
        let keep = min(all.count, maxLength + 1)
        return TokenizedRequest(tokens: Array(all.suffix(keep)), continuationCount: continuation.count, truncated: all.count - keep)
    }
}
