extension ChatTemplate {
    /// The prompt text for `messages`, as transformers' `apply_chat_template(messages,
    /// tokenize=False, add_generation_prompt:)` renders the template's Jinja, with `bos` and `eos`
    /// for its `bos_token` and `eos_token` (Llama 3's and Mistral's templates write them;
    /// `<|begin_of_text|>`, `<s>` and `</s>` for those models). The text still has to be encoded
    /// with special tokens parsed, and without adding BOS again where the template wrote it.
    ///
    /// `addGenerationPrompt` opens an assistant turn where the template has one (ChatML,
    /// Llama 3); Mistral's templates have none and ignore it.
    /// - Throws: ``ChatTemplateError`` where the Jinja raises: Mistral v1/v3 need roles that
    ///   alternate user/assistant after an optional first system message, and take no other
    ///   roles (nor an empty conversation); v7 takes only system, user and assistant.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, bos: String = "", eos: String = "") throws -> String {
        var out = ""
        switch self {
        case .chatML(let defaultSystem):
            for (i, m) in messages.enumerated() {
                if i == 0, let defaultSystem, messages[0].role != "system" {
                    out += "<|im_start|>system\n" + defaultSystem + "<|im_end|>\n"
                }
                out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for (i, m) in messages.enumerated() {
                if i == 0 { out += bos }
                out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content.pythonStripped() + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .mistralV1:
            let (system, turns) = try Self.mistralTurns(messages)
            out += bos
            for (i, m) in turns.enumerated() {
                if m.role == "user" {
                    let content = i == 0 && system != nil ? system! + "\n\n" + m.content : m.content
                    out += " [INST] " + content + " [/INST]"
                } else {
                    out += " " + m.content + eos
                }
            }
        case .mistralV3, .mistralV3Tekken:
            let tekken = self == .mistralV3Tekken
            let (system, turns) = try Self.mistralTurns(messages)
            out += bos
            for (i, m) in turns.enumerated() {
                if m.role == "user" {
                    let content = i == turns.count - 1 && system != nil ? system! + "\n\n" + m.content : m.content
                    out += (tekken ? "[INST]" : "[INST] ") + content + "[/INST]"
                } else {
                    out += (tekken ? m.content : " " + m.content.pythonStripped()) + eos
                }
            }
        case .mistralV7:
            out += bos
            for m in messages {
                switch m.role {
                case "user": out += "[INST] " + m.content + "[/INST]"
                case "system": out += "[SYSTEM_PROMPT] " + m.content + "[/SYSTEM_PROMPT]"
                case "assistant": out += " " + m.content + eos
                default: throw ChatTemplateError("Only user, system and assistant roles are supported! (role \"\(m.role)\")")
                }
            }
        }
        return out
    }

    /// Mistral v1/v3: the optional first system message and the turns after it, which must
    /// alternate user/assistant starting with user (their templates raise otherwise).
    private static func mistralTurns(_ messages: [ChatMessage]) throws -> (system: String?, turns: ArraySlice<ChatMessage>) {
        guard let first = messages.first else {
            throw ChatTemplateError("the conversation is empty (the template reads messages[0])")
        }
        let system = first.role == "system" ? first.content : nil
        let turns = system == nil ? messages[...] : messages.dropFirst()
        for (i, m) in turns.enumerated() {
            if (m.role == "user") != (i % 2 == 0) {
                throw ChatTemplateError("After the optional system message, conversation roles must alternate user/assistant/user/assistant/... (message \(i + (system == nil ? 0 : 1)) is \"\(m.role)\")")
            }
            if m.role != "user" && m.role != "assistant" {
                throw ChatTemplateError("Only user and assistant roles are supported, with the exception of an initial optional system message! (role \"\(m.role)\")")
            }
        }
        return (system, turns)
    }
}

extension String {
    /// The string without leading and trailing whitespace as Python's `str.strip()` (Jinja's
    /// `trim`) sees it: `str.isspace()` scalars, which include U+001C…U+001F and U+0085 but
    /// not U+200B.
    func pythonStripped() -> String {
        func isSpace(_ s: Unicode.Scalar) -> Bool {
            switch s.value {
            case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
                return true
            default:
                return false
            }
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: scalars[first...last])
        return String(kept)
    }
}
