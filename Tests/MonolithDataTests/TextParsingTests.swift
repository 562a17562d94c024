import MonolithKernels
import MonolithTestSupport
import Testing
@testable import MonolithData

/// The hand-written JSONL field extractor and UTF-8 validator that the 20 MB/s preprocessing path
/// relies on instead of Foundation.
@Suite("JSONL and UTF-8 parsing")
struct TextParsingTests {
    static func extract(_ line: String, key: String = "text") -> JSONLine.Result {
        Array(line.utf8).withUnsafeBufferPointer { JSONLine.extract(key: Array(key.utf8), from: $0) }
    }

    @Test("decodes escapes, surrogate pairs and raw UTF-8", arguments: [
        (#"{"text": "a\"b\\c\/d\n\t\r\b\f"}"#, "a\"b\\c/d\n\t\r\u{08}\u{0C}"),
        (#"{"text":"\u00e9\ud83d\ude00 é"}"#, "é😀 é"),
        (#"{"id": 1, "meta": {"text": "inner"}, "text": "outer"}"#, "outer"),
        (#"{"text": "first", "text": "last"}"#, "last"),
        (#"  {"a": [1, -2.5e3, true, false, null, {"b": []}], "text": ""}  "#, ""),
        (#"{"text": "\ud800 lone"}"#, "\u{FFFD} lone"),
    ])
    func decodes(line: String, expected: String) {
        guard case let .string(bytes, range) = Self.extract(line) else { Issue.record("not extracted: \(line)"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        let literal = String(decoding: Array(line.utf8)[range], as: UTF8.self)
        #expect(literal.hasPrefix("\"") && literal.hasSuffix("\""))
    }

    @Test("rejects what json.loads rejects", arguments: [
        #"{"text": "unterminated"#, #"{"text": "x",}"#, #"{"text" "x"}"#, #"["text"]"#, #"{"text": "x"} trailing"#,
        "{\"text\": \"raw\ttab\"}", #"{"text": 01}"#, #"{"text": "\x"}"#, #"{"text": tru}"#, #"{'text': 'x'}"#, "",
    ])
    func rejects(line: String) {
        guard case .malformed = Self.extract(line) else { Issue.record("accepted: \(line)"); return }
    }

    @Test("reports a missing or non-string field")
    func missingField() {
        #expect(Self.extract(#"{"body": "x"}"#) == .missingKey)
        #expect(Self.extract(#"{"text": 3}"#) == .notAString(kind: "a number"))
        #expect(Self.extract(#"{"text": null}"#) == .notAString(kind: "null"))
    }

    @Test("appendQuoted round-trips through the parser")
    func quoting() {
        let text = "quote \" backslash \\ newline \n control \u{01} é"
        var out = Array("{\"text\": ".utf8)
        Array(text.utf8).withUnsafeBufferPointer { JSONString.appendQuoted($0, to: &out) }
        out += Array("}".utf8)
        guard case let .string(bytes, _) = Self.extract(String(decoding: out, as: UTF8.self)) else { Issue.record("unparsable"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == text)
    }

    @Test("UTF-8 validation agrees with the standard library and finds the first bad byte")
    func utf8Validation() {
        var rng = SeededGenerator(seed: 9)
        let pieces: [[UInt8]] = [Array("plain ascii text ".utf8), Array("é".utf8), Array("😀".utf8), Array("€".utf8),
                                 [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xFF]]
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<rng.int(0..<12) { bytes += pieces[rng.int(0..<(rng.int(0..<3) == 0 ? pieces.count : 4))] }
            let bad = bytes.withUnsafeBufferPointer { UTF8Validation.firstInvalidOffset($0) }
            #expect((bad == nil) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
            if let bad {
                #expect(String(validating: bytes[..<bad], as: UTF8.self) != nil, "prefix before \(bad) must be valid: \(bytes)")
            }
        }
    }
}
