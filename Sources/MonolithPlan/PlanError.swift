import Foundation

/// Everything the planner refuses, each with a message that names the broken constraint.
public enum PlanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A layout that cannot run: `constraint` is the rule in symbols, `detail` the numbers that break it.
    case invalidLayout(constraint: String, detail: String)
    /// A model config with impossible shapes.
    case invalidModel(String)
    /// A cluster spec that cannot be parsed or has impossible figures.
    case invalidCluster(String)
    /// A preset name that does not exist; `valid` lists the ones that do.
    case unknownPreset(kind: String, name: String, valid: [String])
    /// A file that cannot be read or decoded.
    case unreadableFile(path: String, reason: String)
    /// A valid layout whose memory exceeds the device.
    case doesNotFit(needed: Double, capacity: Double, largest: String)
    /// A search in which no layout fits in memory.
    case noFeasibleLayout(String)

    /// The message the command line prints after "Error: ".
    public var description: String {
        switch self {
        case .invalidLayout(let constraint, let detail):
            return "invalid layout: \(constraint) is violated: \(detail)"
        case .invalidModel(let message):
            return "invalid model: \(message)"
        case .invalidCluster(let message):
            return "invalid cluster: \(message)"
        case .unknownPreset(let kind, let name, let valid):
            return "unknown \(kind) preset '\(name)'; valid \(kind) presets: \(valid.joined(separator: ", "))"
        case .unreadableFile(let path, let reason):
            return "\(path): \(reason)"
        case .doesNotFit(let needed, let capacity, let largest):
            return "does not fit: needs \(fixed(needed / gib, 1)) GiB per device but the device has "
                + "\(fixed(capacity / gib, 1)) GiB (largest term: \(largest))"
        case .noFeasibleLayout(let message):
            return "no layout fits: \(message)"
        }
    }
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

/// Bytes in a GiB; memory is reported in GiB because device capacities are (80 GiB for an A100 80GB).
let gib = 1_073_741_824.0
