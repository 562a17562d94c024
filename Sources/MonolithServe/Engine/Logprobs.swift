import Foundation

/// Log-softmax of one row of logits: the chosen token's log-probability and the `top` most
/// likely tokens (OpenAI's `logprobs`), from the raw logits (before temperature or top-k/p).
func tokenLogprob(_ token: Int32, _ row: UnsafeBufferPointer<Float>, top: Int) -> TokenLogprob {
    var m = -Float.infinity
    for x in row where x > m { m = x }
    var sum = 0.0
    for x in row { sum += Double(exp(x - m)) }
    let lse = Double(m) + log(sum)
    var best: [(token: Int32, logit: Float)] = []
    if top > 0 {
        for (i, x) in row.enumerated() where best.count < top || x > best[best.count - 1].logit {
            let at = best.firstIndex { x > $0.logit } ?? best.count
            best.insert((Int32(i), x), at: at)
            if best.count > top { best.removeLast() }
        }
    }
    return TokenLogprob(token: token, logprob: Float(Double(row[Int(token)]) - lse),
                        top: best.map { ($0.token, Float(Double($0.logit) - lse)) })
}
