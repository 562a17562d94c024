import Foundation
import MonolithTokenizer

/// One choice's events gathered into what a non-streaming response reports.
struct ChoiceResult {
    var text = ""
    var promptScores: [TokenLogprob] = []
    var generated: [TokenLogprob] = []
    var finish: FinishReason = .abort
    var promptTokens = 0, completionTokens = 0

    /// Reads `stream` to its end; a failure event is thrown.
    static func collect(_ stream: AsyncStream<SequenceEvent>) async throws -> ChoiceResult {
        var r = ChoiceResult()
        for await event in stream {
            switch event {
            case .prompt(let scores): r.promptScores += scores
            case .token(let id, let text, let logprob):
                r.text += text
                if let logprob, id >= 0 { r.generated.append(logprob) }
            case .finished(let reason, let p, let c): r.finish = reason; r.promptTokens = p; r.completionTokens = c
            case .failed(let error): throw error
            }
        }
        return r
    }
}

/// The legacy completions `logprobs` object that lm-eval reads: per token its text, its
/// log-probability (null for an echoed prompt's first token), the top alternatives, and where
/// its text starts.
struct LegacyLogprobs: Encodable {
    var tokens: [String] = []
    var token_logprobs: [Float?] = []
    var top_logprobs: [[String: Float]?] = []
    var text_offset: [Int] = []

    /// `prompt` (echoed, when given) then `generated`, with offsets counted in characters from
    /// the start of the returned text.
    init(prompt: [Int32]?, promptScores: [TokenLogprob], generated: [TokenLogprob], tokenizer: any TextTokenizer) {
        var offset = 0
        func add(_ id: Int32, _ lp: TokenLogprob?) {
            let text = tokenizer.decode([id])
            tokens.append(text); token_logprobs.append(lp?.logprob); text_offset.append(offset)
            top_logprobs.append(lp.map { Dictionary($0.top.map { (tokenizer.decode([$0.token]), $0.logprob) }, uniquingKeysWith: max) })
            offset += text.count
        }
        if let prompt {
            for (i, id) in prompt.enumerated() { add(id, i == 0 ? nil : promptScores.indices.contains(i - 1) ? promptScores[i - 1] : nil) }
        }
        for lp in generated { add(lp.token, lp) }
    }
}

/// Chat's `logprobs`: `{"content": [{token, logprob, bytes, top_logprobs: [...]}]}`.
struct ChatLogprobs: Encodable {
    struct Entry: Encodable {
        let token: String, logprob: Float, bytes: [UInt8]
        let top_logprobs: [Alternative]
    }
    struct Alternative: Encodable { let token: String, logprob: Float, bytes: [UInt8] }
    let content: [Entry]

    init(_ generated: [TokenLogprob], tokenizer: any TextTokenizer) {
        func text(_ id: Int32) -> String { tokenizer.decode([id]) }
        content = generated.map { lp in
            Entry(token: text(lp.token), logprob: lp.logprob, bytes: Array(text(lp.token).utf8),
                  top_logprobs: lp.top.map { Alternative(token: text($0.token), logprob: $0.logprob, bytes: Array(text($0.token).utf8)) })
        }
    }
}

/// `usage`.
struct Usage: Encodable {
    let prompt_tokens, completion_tokens, total_tokens: Int
    init(prompt: Int, completion: Int) { prompt_tokens = prompt; completion_tokens = completion; total_tokens = prompt + completion }
}

/// JSON as the API writes it (keys sorted, `/` unescaped).
func encodeJSON<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
}
