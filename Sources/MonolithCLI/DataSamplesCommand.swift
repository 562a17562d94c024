import ArgumentParser
import Foundation
import MonolithData
import MonolithTokenizer

struct DataSamples: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samples",
        abstract: "Build (and cache) Megatron GPT dataset indices for a blend and show its samples.",
        discussion: """
            --data-path takes Megatron's form: weight/prefix pairs (0.3 A 0.7 B) or prefixes only. \
            Samples are --seq-length + 1 tokens crossing document boundaries, shuffled by --seed; \
            splits are by documents (--split 969,30,1). Indices are cached in \
            cache/GPTDataset_indices beside the first dataset.
            """)

    @Option(parsing: .upToNextOption, help: "Blend: [weight] prefix pairs, or prefixes.") var dataPath: [String]
    @Option(help: "Tokens per sample fed to the model (each sample holds one more).") var seqLength: Int
    @Option(help: "Train/valid/test weights by documents.") var split = "969,30,1"
    @Option(help: "Shuffle seed.") var seed: UInt32 = 1234
    @Option(help: "Train samples (default: one epoch; required for weighted blends).") var trainSamples: Int?
    @Option(help: "Validation samples.") var validSamples: Int?
    @Option(help: "Test samples.") var testSamples: Int?
    @Option(help: "Samples of the train split to print.") var show = 2
    @Option(help: "Tokenizer directory, to print the samples' text.") var tokenizer: String?
    @Option(help: "Index cache directory.") var cacheDir: String?

    func run() throws {
        var config = GPTDatasetConfig(sequenceLength: seqLength)
        config.split = split
        config.seed = seed
        config.cacheDirectory = cacheDir
        try config.validate()
        let blend = try BlendSpecification(dataPath)
        let sources = try GPTDatasetBuilder.build(blend: blend, config: config, sizes: [trainSamples, validSamples, testSamples])
        for split in DatasetSplit.allCases {
            guard let source = sources[split.rawValue] else { print("\(split): none"); continue }
            var line = "\(split): \(source.sampleCount) samples of \(source.sampleLength) tokens"
            if let blended = source as? BlendedDataset {
                var counts = [Int](repeating: 0, count: blended.sources.count)
                for d in blended.datasetIndex { counts[Int(d)] += 1 }
                line += "; drawn per dataset: " + zip(blend.prefixes, counts).map { "\($0) \($1)" }.joined(separator: ", ")
            } else if let gpt = source as? GPTDataset {
                line += "; \(gpt.documents.count) sequences, \(gpt.indices.epochs) epoch(s)\(gpt.loadedFromCache ? ", indices from cache" : "")"
            }
            print(line)
        }
        let tok = try tokenizer.map(loadDataTokenizer)
        if let train = sources[0] {
            for i in 0..<min(show, train.sampleCount) {
                let ids = train.sample(i)
                print("train sample \(i): \(ids.prefix(24).map(String.init).joined(separator: " "))\(ids.count > 24 ? " …" : "")")
                if let tok { print("  text: \(tok.decode(ids).debugDescription)") }
            }
        }
    }
}
