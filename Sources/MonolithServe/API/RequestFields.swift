import Foundation
import MonolithKernels

/// A JSON request body read field by field, as OpenAI's servers read it: unknown fields are
/// ignored (clients send extras), a known field of the wrong type is a 400 naming it.
struct RequestFields {
    let value: JSONValue

    /// Parses `data` as a JSON object.
    init(_ data: Data) throws {
        guard !data.isEmpty else { throw APIError(.badRequest, "the request body is empty; expected a JSON object") }
        guard String(validating: data, as: UTF8.self) != nil else { throw APIError(.badRequest, "the request body is not valid UTF-8") }
        let parsed: JSONValue
        do {
            parsed = try data.withUnsafeBytes { try JSONValue.parse($0.bindMemory(to: UInt8.self), file: "request body") }
        } catch {
            throw APIError(.badRequest, "the request body is not valid JSON (\(error))")
        }
        guard case .object = parsed else { throw APIError(.badRequest, "the request body must be a JSON object, got \(parsed.kindName)") }
        value = parsed
    }

    init(_ value: JSONValue) { self.value = value }

    /// The field, `nil` when absent or null.
    subscript(_ key: String) -> JSONValue? {
        guard let v = value[key], v != .null else { return nil }
        return v
    }

    func string(_ key: String) throws -> String? {
        guard let v = self[key] else { return nil }
        guard let s = v.string else { throw APIError.invalid(key, "'\(key)' must be a string, got \(v.kindName)") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = self[key] else { return nil }
        guard case .bool(let b) = v else { throw APIError.invalid(key, "'\(key)' must be a boolean, got \(v.kindName)") }
        return b
    }

    func number(_ key: String) throws -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.double, d.isFinite else { throw APIError.invalid(key, "'\(key)' must be a number, got \(v.kindName)") }
        return d
    }

    func integer(_ key: String) throws -> Int? {
        guard let v = self[key] else { return nil }
        guard let i = v.int else { throw APIError.invalid(key, "'\(key)' must be an integer, got \(v.kindName)") }
        return i
    }

    /// A string or a list of strings (`stop`).
    func strings(_ key: String) throws -> [String]? {
        guard let v = self[key] else { return nil }
        if let s = v.string { return [s] }
        guard let list = v.array, case let strings = list.compactMap(\.string), strings.count == list.count else {
            throw APIError.invalid(key, "'\(key)' must be a string or a list of strings, got \(v.kindName)")
        }
        return strings
    }

    func object(_ key: String) throws -> RequestFields? {
        guard let v = self[key] else { return nil }
        guard case .object = v else { throw APIError.invalid(key, "'\(key)' must be an object, got \(v.kindName)") }
        return RequestFields(v)
    }
}
