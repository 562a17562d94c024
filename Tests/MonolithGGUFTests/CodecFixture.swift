import Foundation
import MonolithGGUF
import MonolithTestSupport
import Testing

/// `Tests/Fixtures/gguf/codecs.layout.json`, written by scripts/make_gguf_fixtures.py from
/// gguf-py's reader: where every field of `codecs.gguf` lies, every metadata value, and gguf-py's
/// table of ggml type sizes.
struct CodecLayout: Decodable {
    struct Field: Decodable {
        let key: String
        let offset: Int
        let typeOffset: Int
        let type: String
        let lengthOffset: Int?
        let countOffset: Int?
        let elementType: String?
        let value: Value
    }

    /// A metadata value rendered as text: integers in decimal, floats as hex bit patterns.
    enum Value: Decodable {
        case one(String), many([String])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .one(s) } else { self = .many(try c.decode([String].self)) }
        }
    }

    struct Tensor: Decodable {
        let name: String
        let offset: Int
        let type: String
        let dimsOffset: Int
        let nDims: Int
        let typeOffset: Int
        let dataOffsetOffset: Int
        let dataOffset: Int
        let nBytes: Int
        let dims: [Int]
    }

    struct TypeSize: Decodable {
        let name: String
        let value: UInt32
        let blockSize: Int
        let typeSize: Int
    }

    let fields: [Field]
    let tensors: [Tensor]
    let dataOffset: Int
    let fileSize: Int
    let alignment: Int
    let ggmlTypes: [TypeSize]

    func field(_ key: String) -> Field { fields.first { $0.key == key }! }
    func tensor(_ name: String) -> Tensor { tensors.first { $0.name == name }! }
}

enum CodecFixture {
    static let path = TestFixtures.path("gguf/codecs.gguf")

    static func layout() throws -> CodecLayout {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(CodecLayout.self, from: Data(contentsOf: URL(fileURLWithPath: TestFixtures.path("gguf/codecs.layout.json"))))
    }

    static func file() throws -> GGUFFile { try GGUFFile(path: path) }

    static func bytes() throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
}

/// Expects `got` to equal `want` bit for bit (NaN payloads and the sign of zero included),
/// reporting the count of mismatches and the first one.
func expectBitExact(_ got: [Float], _ want: [Float], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(label): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
    var mismatches = 0, first = ""
    for i in 0..<min(got.count, want.count) where got[i].bitPattern != want[i].bitPattern {
        if mismatches == 0 {
            first = "element \(i): \(got[i]) (0x\(String(got[i].bitPattern, radix: 16))) vs \(want[i]) (0x\(String(want[i].bitPattern, radix: 16)))"
        }
        mismatches += 1
    }
    #expect(mismatches == 0, "\(label): \(mismatches) of \(want.count) differ; first \(first)", sourceLocation: sourceLocation)
}

/// Expects two byte arrays to be equal, reporting the first difference.
func expectSameBytes(_ got: [UInt8], _ want: [UInt8], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(label): \(got.count) bytes, expected \(want.count)", sourceLocation: sourceLocation)
    if let i = zip(got, want).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        Issue.record("\(label): byte \(i) is 0x\(String(got[i], radix: 16)), expected 0x\(String(want[i], radix: 16))", sourceLocation: sourceLocation)
    }
}
