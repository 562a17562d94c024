import ArgumentParser
// PLACEHOLDER: replaced by the tokenizer implementation.
struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encode", abstract: "Tokenizer encode throughput (in progress).")
}
