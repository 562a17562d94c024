import ArgumentParser

/// The `monolith` command: curate data, train, evaluate, plan and serve GPT-style models.
@main
struct Monolith: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monolith",
        abstract: "A GPT training stack in Swift: train, benchmark and plan language models.",
        subcommands: [TrainCommand.self, GenerateCommand.self, FetchCommand.self, ExportCommand.self, PerplexityCommand.self, EvalCommand.self, DemoCommand.self, BenchCommand.self, PlanCommand.self, TokenizerCommand.self, DataCommand.self, CommCommand.self, ServeCommand.self],
        defaultSubcommand: nil
    )
}
