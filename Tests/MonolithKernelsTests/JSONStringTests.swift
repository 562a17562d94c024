import MonolithKernels
import Testing

/// The shared JSON string reader and writer (MonolithData's JSONL parser, the tokenizer files, the
/// safetensors header).
@Suite("JSONString")
struct JSONStringTests {
    static func read(_ literal: String, _ policy: JSONString.LoneSurrogates) throws -> (String, Int) {
        let bytes = Array(literal.utf8)
        var i = 0, out: [UInt8] = []
        try bytes.withUnsafeBufferPointer { try JSONString.read($0, at: &i, into: &out, loneSurrogates: policy) }
        return (String(decoding: out, as: UTF8.self), i)
    }

    /// Python 3's `json.dumps(s, ensure_ascii=False)` of this string, which the writer must match
    /// byte for byte (tokenizer files are compared with Hugging Face's).
    @Test func escapesAsPython() throws {
        let s = "a\"\\\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}/é😀"
        #expect(JSONString.quoted(s) == #""a\"\\\n\r\t\b\f\u0001\u001f"# + "\u{7F}" + #"/é😀""#)
        #expect(try Self.read(JSONString.quoted(s), .reject).0 == s)
        #expect(JSONString.quoted("") == "\"\"")
    }

    @Test func surrogatePairsAndLoneSurrogates() throws {
        #expect(try Self.read(#""\ud83d\ude00 x" tail"#, .reject) == ("😀 x", 16))
        #expect(try Self.read(#""\ud800 lone""#, .replace).0 == "\u{FFFD} lone")
        #expect(try Self.read(#""\udc00\ud800\u0041""#, .replace).0 == "\u{FFFD}\u{FFFD}A")
        #expect(throws: JSONString.SyntaxError("unpaired surrogate in a \\u escape", offset: 2)) {
            try Self.read(#""a\ud800b""#, .reject)
        }
    }

    @Test(arguments: [(#""abc"#, "unterminated string (truncated JSON?)", 4), (#""a\x""#, "invalid escape '\\x'", 2),
                      (#""\u12g4""#, "invalid hex digit in a \\u escape", 5), ("\"a\tb\"", "raw control character 0x9 in a string", 2),
                      (#""\u12"#, "truncated \\u escape", 3)])
    func errorsSayWhatAndWhere(literal: String, message: String, offset: Int) {
        #expect(throws: JSONString.SyntaxError(message, offset: offset)) { try Self.read(literal, .replace) }
    }
}
