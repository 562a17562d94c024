/// One turn of a conversation: who speaks (`system`, `user`, `assistant`) and what they say.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user` or `assistant` (templates that allow it take any other role too).
    public var role: String
    /// The text of the turn, rendered as given (some templates trim it, as their Jinja does).
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}
