/// The chat templates Monolith renders: each turns a conversation into the prompt text that
/// transformers' `apply_chat_template(messages, tokenize=False, add_generation_prompt=…)` makes
/// from the model's Jinja template, byte for byte, for plain text messages (no tools).
///
/// A GGUF carries the Jinja text (`tokenizer.chat_template`); ``detect(jinja:)`` recognises it as
/// llama.cpp's `llm_chat_detect_template` does, and ``init(name:)`` takes a user's
/// `--chat-template NAME` instead.
///
/// ```swift
/// let template = try ChatTemplate.detect(jinja: vocabulary.chatTemplate ?? "")
/// let prompt = try template.render([.user("Hi")], addGenerationPrompt: true)
/// // "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n…"
/// ```
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>ROLE\nCONTENT<|im_end|>\n` per message, `<|im_start|>assistant\n` to prompt.
    /// With a default system message (SmolLM2's "You are a helpful AI assistant named SmolLM,
    /// trained by Hugging Face"), that message comes first when the first one is not a system one.
    case chatML(defaultSystemMessage: String?)
    /// Llama 3 (Meta-Llama-3-8B-Instruct's template): BOS, then
    /// `<|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>` with CONTENT trimmed.
    case llama3
    /// Mistral's "v1" (Mistral-7B-Instruct-v0.2): `BOS [INST] SYSTEM\n\nUSER [/INST] ASSISTANT</s>`,
    /// the system message before the first user message, roles alternating from `user`.
    case mistralV1
    /// Mistral's "v3" (Mistral-Large-Instruct-2407): `BOS[INST] USER[/INST] ASSISTANT</s>`, the
    /// system message before the last user message, assistant messages trimmed.
    case mistralV3
    /// Mistral's "v3-tekken" (Mistral-Nemo-Instruct-2407): "v3" without the spaces and the trim.
    case mistralV3Tekken
    /// Mistral's "v7" (Mistral-Large-Instruct-2411): `[SYSTEM_PROMPT] …[/SYSTEM_PROMPT]`,
    /// `[INST] …[/INST]`, ` …</s>`, in message order.
    case mistralV7

    /// SmolLM2's default system message (from its `tokenizer.chat_template`).
    public static let smolLM2SystemMessage = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// The names ``init(name:)`` takes, as llama.cpp spells them where it has the template.
    public static let names = ["chatml", "smollm2", "llama3", "mistral-v1", "mistral-v3", "mistral-v3-tekken", "mistral-v7"]

    /// The template named `name` (one of ``names``).
    /// - Throws: ``ChatTemplateError`` listing the names.
    public init(name: String) throws {
        switch name {
        case "chatml": self = .chatML(defaultSystemMessage: nil)
        case "smollm2": self = .chatML(defaultSystemMessage: Self.smolLM2SystemMessage)
        case "llama3": self = .llama3
        case "mistral-v1": self = .mistralV1
        case "mistral-v3": self = .mistralV3
        case "mistral-v3-tekken": self = .mistralV3Tekken
        case "mistral-v7": self = .mistralV7
        default:
            throw ChatTemplateError("unknown chat template name \"\(name)\"; known: \(Self.names.joined(separator: ", "))")
        }
    }

    /// The template's name; a ChatML template with another default system message is "chatml+system".
    public var name: String {
        switch self {
        case .chatML(nil): return "chatml"
        case .chatML(let message?) where message == Self.smolLM2SystemMessage: return "smollm2"
        case .chatML: return "chatml+system"
        case .llama3: return "llama3"
        case .mistralV1: return "mistral-v1"
        case .mistralV3: return "mistral-v3"
        case .mistralV3Tekken: return "mistral-v3-tekken"
        case .mistralV7: return "mistral-v7"
        }
    }
}

/// A chat template that cannot be recognised or rendered, with what to do about it.
public struct ChatTemplateError: Error, CustomStringConvertible, Equatable {
    /// What is wrong.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
