import ArgumentParser
// PLACEHOLDER: replaced by the tokenizer implementation.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "GPT-2 BPE tokenizer tools (in progress).")
}
