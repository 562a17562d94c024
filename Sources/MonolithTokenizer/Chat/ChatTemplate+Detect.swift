extension ChatTemplate {
    /// The template a model's Jinja chat template (GGUF `tokenizer.chat_template`) is, decided by
    /// the substrings llama.cpp's `llm_chat_detect_template` (`src/llama-chat.cpp`) looks for, in
    /// its order, so that Monolith and llama.cpp agree on which template a file has:
    ///
    /// - a template name (`"chatml"`, …) is taken as that template;
    /// - `<|im_start|>` is ChatML, unless `<|im_sep|>` (Phi-4) or `<end_of_utterance>` (SmolVLM);
    ///   a literal `<|im_start|>system\n…<|im_end|>` in it is the default system message;
    /// - `[INST]` (or text starting with `mistral`): `[SYSTEM_PROMPT]` is Mistral v7; with
    ///   `' [INST] ' + system_message` or `[AVAILABLE_TOOLS]`, ` [INST]` is v1, `"[INST]"` is
    ///   v3-tekken, else v3; otherwise one of llama.cpp's Llama 2 variants;
    /// - `<|start_header_id|>` and `<|end_header_id|>` is Llama 3, after llama.cpp's earlier
    ///   checks (Phi-3, Gemma, Zephyr, …) have not matched. A Llama 3.1+ template (it writes
    ///   "Cutting Knowledge Date") renders differently and is refused.
    ///
    /// - Throws: ``ChatTemplateError`` for a template Monolith does not render: it says which
    ///   llama.cpp template it looks like, if any, and to pass `--chat-template NAME`, listing
    ///   ``names``.
    public static func detect(jinja: String) throws -> ChatTemplate {
        if let named = try? ChatTemplate(name: jinja) { return named }
        let text = Array(jinja.utf8)
        func has(_ s: String) -> Bool { Self.find(Array(s.utf8), in: text) != nil }
        func unsupported(_ llamaName: String) -> ChatTemplateError {
            ChatTemplateError("the chat template looks like llama.cpp's \"\(llamaName)\", which Monolith does not render; "
                              + "pass --chat-template NAME with one of: \(names.joined(separator: ", "))")
        }
        if has("<|im_start|>") {
            if has("<|im_sep|>") { throw unsupported("phi4") }
            if has("<end_of_utterance>") { throw unsupported("smolvlm") }
            return .chatML(defaultSystemMessage: defaultSystemMessage(in: text))
        }
        if jinja.hasPrefix("mistral") || has("[INST]") {
            if has("[SYSTEM_PROMPT]") { return .mistralV7 }
            if has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]") {
                if has(" [INST]") { return .mistralV1 }
                if has("\"[INST]\"") { return .mistralV3Tekken }
                return .mistralV3
            }
            throw unsupported(has("content.strip()") ? "llama2-sys-strip" : has("bos_token + '[INST]") ? "llama2-sys-bos"
                              : has("<<SYS>>") ? "llama2-sys" : "llama2")
        }
        // llama.cpp's checks between Mistral's and Llama 3's, so a template they claim is not taken for Llama 3.
        let earlier: [(String, [String])] = [
            ("phi3", ["<|assistant|>", "<|end|>"]), ("chatglm4", ["[gMASK]<sop>"]),
            ("glmedge", ["<|assistant|>", "<|user|>"]), ("glmedge", ["<|{{ item['role'] }}|>", "<|begin_of_image|>"]),
            ("zephyr", ["<|user|>", "<|endoftext|>"]), ("monarch", ["bos_token + message['role']"]),
            ("gemma", ["<start_of_turn>"]), ("orion", ["'\\n\\nAssistant: ' + eos_token"]),
            ("openchat", ["GPT4 Correct "]), ("vicuna", ["USER: ", "ASSISTANT: "]),
            ("deepseek", ["### Instruction:", "<|EOT|>"]), ("command-r", ["<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"]),
        ]
        for (llamaName, needles) in earlier where needles.allSatisfy(has) { throw unsupported(llamaName) }
        if has("<|start_header_id|>") && has("<|end_header_id|>") {
            if has("Cutting Knowledge Date") {
                throw ChatTemplateError("the chat template is Llama 3.1 or later (it writes \"Cutting Knowledge Date\"), which "
                                        + "renders differently from Llama 3; pass --chat-template llama3 to use Llama 3's format, "
                                        + "or another of: \(names.joined(separator: ", "))")
            }
            return .llama3
        }
        throw ChatTemplateError("the chat template is not one Monolith knows; pass --chat-template NAME with one of: "
                                + names.joined(separator: ", "))
    }

    /// The text of a literal `<|im_start|>system` + newline + TEXT + `<|im_end|>` in the template,
    /// if TEXT is plain (no quotes or braces, so not an expression); a `\n` escape in TEXT is a newline.
    static func defaultSystemMessage(in text: [UInt8]) -> String? {
        for newline in ["\n", "\\n"] {
            let open = Array(("<|im_start|>system" + newline).utf8)
            var from = 0
            while let start = find(open, in: text, from: from) {
                from = start + 1
                let body = start + open.count
                guard let end = find(Array("<|im_end|>".utf8), in: text, from: body) else { break }
                let message = text[body..<end]
                if message.isEmpty || message.contains(where: { "'\"{}".utf8.contains($0) }) { continue }
                return String(decoding: message, as: UTF8.self).replacingEscapedNewlines()
            }
        }
        return nil
    }

    /// The first offset of `needle` in `text` at or after `from` (bytes, as `std::string::find`).
    static func find(_ needle: [UInt8], in text: [UInt8], from: Int = 0) -> Int? {
        guard !needle.isEmpty, text.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= text.count {
            if text[i] == needle[0] && text[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    /// The string with each two-character `\n` escape replaced by a newline.
    fileprivate func replacingEscapedNewlines() -> String {
        var out = ""
        var scalars = unicodeScalars.makeIterator()
        while let c = scalars.next() {
            if c == "\\" {
                if let d = scalars.next() {
                    if d == "n" { out.unicodeScalars.append("\n") } else { out.unicodeScalars.append(c); out.unicodeScalars.append(d) }
                } else {
                    out.unicodeScalars.append(c)
                }
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
