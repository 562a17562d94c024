import Foundation
import HTTPTypes

/// An error as the OpenAI API reports it: an HTTP status and the body
/// `{"error": {"message", "type", "param", "code"}}`, naming the request field at fault.
public struct APIError: Error, CustomStringConvertible, Sendable {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// What went wrong, for people.
    public let message: String
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, …).
    public let type: String
    /// The request field at fault, if one is.
    public let param: String?
    /// A machine-readable code, if any.
    public let code: String?

    /// An error with all its parts.
    public init(_ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", param: String? = nil,
                code: String? = nil) {
        self.status = status; self.message = message; self.type = type; self.param = param; self.code = code
    }

    /// 400 naming `param`.
    public static func invalid(_ param: String, _ message: String) -> APIError {
        APIError(.badRequest, message, param: param)
    }

    public var description: String { "\(status.code) \(message)" }

    /// The JSON body, with `param` and `code` null when absent, as OpenAI writes them.
    public var body: Data {
        struct Inner: Encodable {
            let message, type: String
            let param, code: String?
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message); try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param); try c.encode(code, forKey: .code)
            }
            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        struct Outer: Encodable { let error: Inner }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(Outer(error: Inner(message: message, type: type, param: param, code: code)))) ?? Data()
    }
}
