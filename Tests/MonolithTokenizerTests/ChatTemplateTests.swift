import Foundation
import Testing
@testable import MonolithTokenizer

/// Chat templates render byte for byte as transformers' `apply_chat_template(tokenize=False)`
/// (`chat.json`, from `scripts/make_gguf_tokenizer_fixtures.py`) and are detected from their
/// Jinja text as llama.cpp does.
@Suite struct ChatTemplateTests {
    static let fixture = GGUFFixtures.json("chat.json")

    struct Render: CustomTestStringConvertible, Sendable {
        let template: String
        let conversation: String
        let addGenerationPrompt: Bool
        let text: String?
        let ids: [Int32]?
        var testDescription: String { "\(template) \(conversation) \(addGenerationPrompt ? "+prompt" : "")" }
    }

    static let renders: [Render] = (fixture?["renders"]?.array ?? []).map {
        Render(template: $0["template"]!.string!, conversation: $0["conversation"]!.string!,
               addGenerationPrompt: $0["add_generation_prompt"]!.bool!, text: $0["text"]?.string, ids: GGUFFixtures.ids($0["ids"]))
    }

    static func conversation(_ name: String) -> [ChatMessage] {
        (fixture?["conversations"]?[name]?.array ?? []).map { ChatMessage(role: $0["role"]!.string!, content: $0["content"]!.string!) }
    }

    /// Each template's Jinja text and BOS/EOS strings, by name.
    static let templates: [String: (jinja: String, bos: String, eos: String)] = {
        var out: [String: (jinja: String, bos: String, eos: String)] = [:]
        for t in fixture?["templates"]?.array ?? [] {
            out[t["name"]!.string!] = (jinja: t["jinja"]!.string!, bos: t["bos"]!.string!, eos: t["eos"]!.string!)
        }
        return out
    }()

    @Test func fixturesArePresent() {
        #expect(Self.renders.count >= 150)
        #expect(Set(Self.renders.map(\.template)) == Set(ChatTemplate.names))
        #expect(Self.renders.contains { $0.text == nil } && Self.renders.contains { $0.ids != nil })
    }

    /// Every fixture template is detected as the template of its name.
    @Test func detectsEachTemplate() throws {
        for (name, t) in Self.templates {
            #expect(try ChatTemplate.detect(jinja: t.jinja) == ChatTemplate(name: name), "\(name)")
            #expect(try ChatTemplate(name: name).name == name)
            #expect(try ChatTemplate.detect(jinja: name) == ChatTemplate(name: name), "a name is taken as itself")
        }
        #expect(try ChatTemplate.detect(jinja: Self.templates["smollm2"]!.jinja) == .chatML(defaultSystemMessage: ChatTemplate.smolLM2SystemMessage))
    }

    @Test func unknownTemplatesSayWhatToPass() throws {
        let unknown = try #require(Self.fixture?["unknown_templates"]?.members)
        #expect(unknown.count >= 4)
        for (name, jinja) in unknown {
            do {
                let t = try ChatTemplate.detect(jinja: jinja.string!)
                Issue.record("\(name) detected as \(t.name)")
            } catch let e as ChatTemplateError {
                #expect(e.message.contains("--chat-template NAME") || e.message.contains("--chat-template llama3"), "\(name): \(e)")
                #expect(e.message.contains(ChatTemplate.names.joined(separator: ", ")), "\(name): \(e)")
            }
        }
        #expect(throws: ChatTemplateError("unknown chat template name \"vicuna\"; known: \(ChatTemplate.names.joined(separator: ", "))")) {
            try ChatTemplate(name: "vicuna")
        }
    }

    @Test(arguments: ChatTemplateTests.renders)
    func rendersAsTransformers(_ r: Render) throws {
        let t = try #require(Self.templates[r.template])
        let template = try ChatTemplate.detect(jinja: t.jinja)
        let messages = Self.conversation(r.conversation)
        #expect(!messages.isEmpty)
        guard let expected = r.text else {
            #expect(throws: ChatTemplateError.self) {
                try template.render(messages, addGenerationPrompt: r.addGenerationPrompt, bos: t.bos, eos: t.eos)
            }
            return
        }
        let text = try template.render(messages, addGenerationPrompt: r.addGenerationPrompt, bos: t.bos, eos: t.eos)
        #expect(Array(text.utf8) == Array(expected.utf8), "\(text.debugDescription) vs \(expected.debugDescription)")
    }

    /// The SmolLM2 prompts encode to the ids of SmolLM2's tokenizer (special tokens parsed).
    @Test(.enabled(if: GGUFFixtures.smolLM2 != nil, GGUFFixtures.smolLM2Missing))
    func smolLM2PromptIDs() throws {
        let tok = try GGUFFixtures.smolLM2Tokenizer(pre: "smollm")
        let template = try ChatTemplate.detect(jinja: try #require(GGUFFixtures.smolLM2?.vocabulary.chatTemplate))
        #expect(template.name == "smollm2")
        var checked = 0
        for r in Self.renders where r.template == "smollm2" {
            let ids = try #require(r.ids)
            let prompt = try template.render(Self.conversation(r.conversation), addGenerationPrompt: r.addGenerationPrompt)
            #expect(tok.encode(prompt) == ids, "\(r.testDescription)")
            checked += 1
        }
        #expect(checked >= 20)
    }

    @Test func pythonStripMatchesJinjaTrim() {
        #expect(" \u{1C}\u{85}\u{3000}x y\u{2028}\t".pythonStripped() == "x y")
        #expect("\u{200B}x\u{200B}".pythonStripped() == "\u{200B}x\u{200B}")
        #expect(" \n ".pythonStripped() == "")
    }
}
