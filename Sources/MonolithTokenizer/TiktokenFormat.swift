extension BPETokenizer {
    /// Loads a tiktoken rank file (`r50k_base.tiktoken`): one token per line, base64 of its bytes,
    /// a space, and its rank, which is also its id.
    ///
    /// The file holds no special tokens; `specialTokens` adds them (by default `<|endoftext|>`
    /// after the last rank, which is 50256 for GPT-2, as tiktoken's `r50k_base` defines it).
    public static func loadTiktoken(_ path: String, specialTokens: [String: Int32]? = nil) throws -> BPETokenizer {
        let bytes = try VocabularyFiles.read(path)
        var tokens: [[UInt8]?] = []
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNumber += 1
            var line = bytes[start..<end]
            start = end + 1
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { continue }
            guard let space = line.firstIndex(of: 0x20),
                  let rank = Int(String(decoding: line[(space + 1)...], as: UTF8.self)), rank >= 0, rank < 1 << 24 else {
                throw TokenizerError(file: path, line: lineNumber, "expected \"<base64 token> <rank>\"")
            }
            guard let token = Base64.decode(line[line.startIndex..<space]), !token.isEmpty else {
                throw TokenizerError(file: path, line: lineNumber, "the token is not valid base64")
            }
            if rank >= tokens.count { tokens += [[UInt8]?](repeating: nil, count: rank + 1 - tokens.count) }
            guard tokens[rank] == nil else { throw TokenizerError(file: path, line: lineNumber, "rank \(rank) appears twice") }
            tokens[rank] = token
        }
        guard !tokens.isEmpty else { throw TokenizerError(file: path, "no ranks in the file") }
        let specials = specialTokens ?? ["<|endoftext|>": Int32(tokens.count)]
        let specialList = specials.sorted { $0.value < $1.value }.map { ($0.key, $0.value) }
        if let maxSpecial = specialList.map(\.1).max(), Int(maxSpecial) >= tokens.count {
            tokens += [[UInt8]?](repeating: nil, count: Int(maxSpecial) + 1 - tokens.count)
        }
        for (s, id) in specialList {
            guard id >= 0, tokens[Int(id)] == nil else {
                throw TokenizerError(file: path, "special token \(s) has id \(id), which a rank already uses")
            }
            tokens[Int(id)] = Array(s.utf8)
        }
        // tiktoken merges two adjacent parts whenever their concatenation is a token, ranked by
        // that token; list every split of every token as a pair to get the same rule.
        let lookup = ByteStringTable(capacity: tokens.count)
        var lookupIDs: [Int32] = []
        let specialIDs = Set(specialList.map(\.1))
        for (id, t) in tokens.enumerated() where !specialIDs.contains(Int32(id)) {
            if let t, lookup.insert(t).inserted { lookupIDs.append(Int32(id)) }
        }
        let pairs = PairTable(capacity: tokens.count * 2)
        for (id, t) in tokens.enumerated() where !specialIDs.contains(Int32(id)) {
            guard let t, t.count >= 2 else { continue }
            t.withUnsafeBufferPointer { b in
                for k in 1..<b.count {
                    let l = lookup.find(b.baseAddress!, k), r = lookup.find(b.baseAddress! + k, b.count - k)
                    if l >= 0 && r >= 0 {
                        pairs.setIfLower(lookupIDs[Int(l)], lookupIDs[Int(r)], PairMerge(rank: UInt32(id), token: Int32(id)))
                    }
                }
            }
        }
        let model = try BPEModel(tokens: tokens, pairs: pairs, specialTokens: specialList,
                                 wholeWordShortcut: true, file: path)
        return BPETokenizer(model: model, source: path)
    }
}

/// Standard base64 (RFC 4648, with padding), as tiktoken writes rank files.
enum Base64 {
    private static let values: [Int8] = {
        var v = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { v[Int(c)] = Int8(i) }
        return v
    }()
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func decode(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        guard s.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 4 * 3)
        var acc: UInt32 = 0, bits = 0, padding = 0
        for c in s {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }
            let v = values[Int(c)]
            guard v >= 0 else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return padding <= 2 ? out : nil
    }

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v = UInt32(bytes[i]) << 16
            if n > 1 { v |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { v |= UInt32(bytes[i + 2]) }
            for k in 0..<4 {
                out.append(k <= n ? alphabet[Int((v >> UInt32(18 - 6 * k)) & 63)] : UInt8(ascii: "="))
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
