import Foundation
import MonolithModel
import Testing

/// Malformed safetensors files are rejected with a message naming the file and the problem,
/// never a crash.
@Suite("safetensors validation")
struct SafeTensorsValidationTests {
    static func file(header: String, dataBytes: Int, declaredLength: UInt64? = nil) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).safetensors").path
        var data = Data()
        var len = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &len) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: dataBytes))
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    static let cases: [(String, String, Int, UInt64?, String)] = [
        ("not JSON", "{nope", 0, nil, "not a JSON object"),
        ("header longer than file", "{}", 0, 1 << 40, "does not fit"),
        ("unknown dtype", #"{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}"#, 4, nil, "unknown dtype"),
        ("offsets outside data", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4, nil, "outside"),
        ("shape/bytes mismatch", #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, nil, "needs 12 bytes"),
        ("overlap", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12, nil, "overlap"),
        ("negative shape", #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, 0, nil, "non-negative"),
        ("metadata not strings", #"{"__metadata__":{"k":1}}"#, 0, nil, "not a string"),
    ]

    @Test("rejected with a clear error", arguments: cases.indices)
    func rejects(index: Int) throws {
        let (name, header, bytes, declared, message) = Self.cases[index]
        let path = try Self.file(header: header, dataBytes: bytes, declaredLength: declared)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: SafeTensorsError.self, "\(name)") { try SafeTensorsFile(path: path) }
        #expect(error?.description.contains(message) == true, "\(name): \(error?.description ?? "")")
        #expect(error?.description.contains(path) == true)
    }

    @Test("a truncated file is rejected")
    func truncated() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString)").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path + ".missing") }
    }
}
