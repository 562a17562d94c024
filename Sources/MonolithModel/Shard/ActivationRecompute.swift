/// Which activations a model-parallel shard keeps for backward and which it recomputes
/// (Megatron's `--recompute-granularity`, `--recompute-method uniform`).
///
/// - ``none``: every block keeps all its saved tensors.
/// - ``selective``: every block drops its attention probabilities (`[B, H/tp, T, T]`, the one
///   activation that grows with T²) and recomputes the attention core from `qkv` in backward.
/// - ``full(every:)``: a block whose index is a multiple of `every` keeps only its input (`[B,T,C]`)
///   and runs its forward again just before its backward, into one shared scratch set; the other
///   blocks keep everything. `every: 1` recomputes every block.
public enum ActivationRecompute: Sendable, Equatable, CustomStringConvertible {
    case none
    case selective
    case full(every: Int)

    /// Parses `none`, `selective` or `full` (with `every` blocks for `full`).
    public init?(_ name: String, every: Int = 1) {
        switch name {
        case "none": self = .none
        case "selective": self = .selective
        case "full" where every >= 1: self = .full(every: every)
        default: return nil
        }
    }

    /// Whether layer `l` is recomputed in full.
    public func recomputesBlock(_ l: Int) -> Bool {
        if case .full(let k) = self { return l % k == 0 }
        return false
    }

    /// Whether blocks that keep their activations keep the attention probabilities.
    public var keepsProbabilities: Bool { self != .selective }

    public var description: String {
        switch self {
        case .none: return "none"
        case .selective: return "selective"
        case .full(let k): return k == 1 ? "full" : "full (every \(k) blocks)"
        }
    }
}
