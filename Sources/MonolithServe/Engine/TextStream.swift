/// Turns a growing list of generated tokens into text that is safe to send: it holds back a
/// trailing incomplete UTF-8 character (decoded as U+FFFD) and any tail that could still become
/// one of the stop strings, and finds a stop string even when it spans several tokens.
struct TextStream {
    let stops: [[Unicode.Scalar]]
    /// Scalars already sent.
    private(set) var sent: [Unicode.Scalar] = []

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) } }

    /// The new text to send now that the generated tokens decode to `text`, and whether a stop
    /// string ended it (the stop string and what follows are never sent).
    mutating func advance(to text: String, final: Bool = false) -> (delta: String, stopped: Bool) {
        var scalars = Array(text.unicodeScalars)
        if let cut = firstStop(in: scalars) {
            return (emit(Array(scalars[..<max(cut, sent.count)])), true)
        }
        if !final {
            if scalars.last == "\u{FFFD}" { scalars.removeLast() }
            scalars.removeLast(min(scalars.count, heldBack(scalars)))
        }
        return (emit(scalars), false)
    }

    private mutating func emit(_ upTo: [Unicode.Scalar]) -> String {
        guard upTo.count > sent.count, upTo.starts(with: sent) else { return "" }
        let delta = upTo[sent.count...]
        sent = upTo
        var s = String.UnicodeScalarView()
        s.append(contentsOf: delta)
        return String(s)
    }

    /// Where the first stop string starts, if one occurs.
    private func firstStop(in s: [Unicode.Scalar]) -> Int? {
        var best: Int? = nil
        for stop in stops where stop.count <= s.count {
            // Only text not yet sent can hold a new match (sent text held no stop string).
            let from = max(0, sent.count - stop.count + 1)
            var i = from
            while i + stop.count <= s.count {
                if s[i] == stop[0] && Array(s[i..<(i + stop.count)]) == stop { best = min(best ?? i, i); break }
                i += 1
            }
        }
        return best
    }

    /// Length of the longest tail of `s` that is a proper prefix of a stop string.
    private func heldBack(_ s: [Unicode.Scalar]) -> Int {
        var longest = 0
        for stop in stops {
            for k in stride(from: min(stop.count - 1, s.count), to: longest, by: -1) where Array(s.suffix(k)) == Array(stop.prefix(k)) {
                longest = k; break
            }
        }
        return longest
    }
}
