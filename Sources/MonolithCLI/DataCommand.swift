import ArgumentParser
// PLACEHOLDER: replaced by the data pipeline implementation.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Data curation tools (in progress).")
}
