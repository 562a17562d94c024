#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds special tokens (e.g. `<|endoftext|>`) spelled in text, as tiktoken's
/// `encode(text, allowed_special="all")` and Hugging Face's added-token split do: the text
/// between two special tokens is pre-tokenized on its own.
struct SpecialTokenMatcher: Sendable {
    struct Token: Sendable {
        let bytes: [UInt8]
        let id: Int32
    }

    /// Longest first, so that of two tokens starting at one position the longer wins.
    let tokens: [Token]
    private let firstBytes: [Bool]
    private let singleFirstByte: Int32
    let maxLength: Int

    init(_ specials: [(String, Int32)]) {
        tokens = specials.map { Token(bytes: Array($0.0.utf8), id: $0.1) }
            .filter { !$0.bytes.isEmpty }
            .sorted { $0.bytes.count > $1.bytes.count }
        var first = [Bool](repeating: false, count: 256)
        for t in tokens { first[Int(t.bytes[0])] = true }
        firstBytes = first
        let distinct = Set(tokens.map { $0.bytes[0] })
        singleFirstByte = distinct.count == 1 ? Int32(distinct.first!) : -1
        maxLength = tokens.map(\.bytes.count).max() ?? 0
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// The first special token in `base[from..<end]`: its start, length and id.
    func next(in base: UnsafePointer<UInt8>, from: Int, end: Int) -> (start: Int, length: Int, id: Int32)? {
        if tokens.isEmpty { return nil }
        var i = from
        while i < end {
            if singleFirstByte >= 0 {
                guard let hit = memchr(base + i, singleFirstByte, end - i) else { return nil }
                i = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
            } else if !firstBytes[Int(base[i])] {
                i += 1
                continue
            }
            if let t = match(base, at: i, end: end) { return (i, t.bytes.count, t.id) }
            i += 1
        }
        return nil
    }

    private func match(_ base: UnsafePointer<UInt8>, at i: Int, end: Int) -> Token? {
        for t in tokens where t.bytes.count <= end - i {
            let same = t.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, base + i, $0.count) == 0 }
            if same { return t }
        }
        return nil
    }

    /// Whether a special token occurrence covers both `p - 1` and `p`, so that `p` cannot be a
    /// chunk boundary.
    func straddles(_ base: UnsafePointer<UInt8>, _ p: Int, start: Int, end: Int) -> Bool {
        if tokens.isEmpty { return false }
        var s = max(start, p - maxLength + 1)
        while s < p {
            if let t = match(base, at: s, end: end), s + t.bytes.count > p { return true }
            s += 1
        }
        return false
    }
}
