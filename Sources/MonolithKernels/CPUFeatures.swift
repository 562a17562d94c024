import Foundation

/// What the host CPU supports, read once from `/proc/cpuinfo`.
///
/// Used to pick a BLAS kernel family: Debian's OpenBLAS 0.3.21 misdetects recent Xeons as
/// *Prescott* and runs its generic kernels 5–10× slower than the AVX-512 ones.
public struct CPUFeatures: Sendable {
    /// Lower-case feature flags (`avx2`, `avx512f`, …).
    public let flags: Set<String>
    /// The marketing name of the CPU, if known.
    public let modelName: String

    /// Features of the machine this process runs on.
    public static let host: CPUFeatures = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return CPUFeatures(flags: [], modelName: "unknown")
        }
        var flags = Set<String>()
        var model = "unknown"
        for line in text.split(separator: "\n") {
            if flags.isEmpty, line.hasPrefix("flags") || line.hasPrefix("Features") {
                if let colon = line.firstIndex(of: ":") {
                    flags = Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
                }
            } else if model == "unknown", line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return CPUFeatures(flags: flags, modelName: model)
    }()

    /// The CPU and the features that decide its bf16 speed, for benchmark reports: figures differ
    /// between machines of one kind (Zen 4 with AVX512-BF16, Xeons with or without AMX).
    public var summary: String {
        let bf16 = flags.contains("avx512_bf16") ? "avx512_bf16" : "no avx512_bf16"
        let amx = flags.contains("amx_bf16") ? ", amx_bf16" : ""
        let width = flags.contains("avx512f") ? "avx512" : flags.contains("avx2") ? "avx2" : "sse"
        return "\(modelName) (\(width), \(bf16)\(amx))"
    }

    /// The OpenBLAS `OPENBLAS_CORETYPE` whose kernels fit this CPU best, or nil to let it detect.
    public var openBLASCoreType: String? {
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }
}
