import ArgumentParser
import Foundation
import MonolithKernels
import MonolithTokenizer

/// `monolith bench encode`: tokenizer encode throughput, median of timed runs.
///
/// Each run starts with empty word caches, so the number compares fairly with tiktoken, which
/// keeps no cache between calls (`--warm` keeps them to show the steady state of a long job).
///
/// Besides wall time it reports CPU time: process CPU per run, and the busiest thread's CPU per
/// run. On a machine whose cores are taken by other jobs, wall time says little about scaling;
/// the busiest thread's CPU time is what the wall time would be with free cores.
struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Time tokenizer encoding of a text file (MB/s and tokens/s, median of runs).")

    @Option(help: "Tokenizer directory.") var tokenizer: String
    @Option(help: "Text file to encode.") var file: String
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Timed runs (after one warm-up run); the median is reported.") var runs = 5
    @Flag(help: "Keep word caches between runs (steady state) instead of starting each run cold.") var warm = false
    @OptionGroup var input: TextInputOptions
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Codable {
        let mb_per_second: Double
        let tokens_per_second: Double
        let threads: Int
        let bytes: Int
        let tokens: Int
        let runs: Int
        let seconds: [Double]
        /// Process CPU time (user + system) of each run: on a busy machine, wall time measures the
        /// other jobs too, while CPU time shows what the encoder itself costs.
        let cpu_seconds: [Double]
        /// CPU time of the busiest thread of each run (BPE tokenizers only).
        let busiest_thread_cpu_seconds: [Double]
        let warm: Bool
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be positive") }
        if runs < 1 { throw ValidationError("--runs must be positive") }
    }

    func run() throws {
        configureThreads(threads)
        let tok = try loadTokenizer(tokenizer)
        let text = try input.read(file)
        let bytes = text.utf8.count
        var times: [Double] = [], cpu: [Double] = [], busiest: [Double] = []
        var tokens = 0
        for i in 0...runs {
            if !warm, let bpe = tok as? BPETokenizer { bpe.clearCaches() }
            let c0 = processCPUSeconds()
            let t0 = DispatchTime.now().uptimeNanoseconds
            var threadCPU: [Double] = []
            if let bpe = tok as? BPETokenizer {
                let (ids, statistics) = bpe.encodeWithStatistics(text)
                tokens = ids.count
                threadCPU = statistics.threadCPUSeconds
            } else {
                tokens = tok.encode(text).count
            }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if i > 0 {
                times.append(dt)
                cpu.append(processCPUSeconds() - c0)
                if let m = threadCPU.max() { busiest.append(m) }
            }
        }
        let median = times.sorted()[times.count / 2]
        let result = Result(mb_per_second: Double(bytes) / median / 1e6, tokens_per_second: Double(tokens) / median,
                            threads: WorkerPool.shared.threadCount, bytes: bytes, tokens: tokens, runs: runs,
                            seconds: times, cpu_seconds: cpu, busiest_thread_cpu_seconds: busiest, warm: warm)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(result), encoding: .utf8)!)
        } else {
            let busiestMedian = busiest.isEmpty ? 0 : busiest.sorted()[busiest.count / 2]
            print(String(format: "%@: %d bytes, %d tokens, %d threads: median %.1f MB/s, %.2f M tokens/s (%@ cache); " +
                         "CPU per run %.1f ms, busiest thread %.1f ms",
                         file, bytes, tokens, result.threads, result.mb_per_second, result.tokens_per_second / 1e6,
                         warm ? "warm" : "cold", 1000 * cpu.sorted()[cpu.count / 2], 1000 * busiestMedian))
        }
    }
}

/// User + system CPU seconds of this process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
