/// Which of the three splits a dataset serves (Megatron's `Split`: train = 0, valid = 1, test = 2).
public enum DatasetSplit: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case train = 0, valid = 1, test = 2
    public var description: String { ["train", "valid", "test"][rawValue] }
}

/// Megatron's train/valid/test split of a dataset by documents, from a string like `"969,30,1"`.
///
/// Follows megatron-core exactly (`parse_and_normalize_split`,
/// `convert_split_vector_to_split_matrix`, and `_build_megatron_dataset_splits`): every run of
/// digits and dots is a weight, missing weights are 0, the weights are divided by their sum, their
/// running sums are the book-ends, and split `i` covers sequences
/// `round(begin·n) ..< round(end·n)` with Python's round-half-to-even. A zero weight gives no split
/// at all (`nil`), not an empty one. The arithmetic order is Megatron's, so boundaries agree to
/// the sequence even where a product lands on .5.
public struct SplitSpecification: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The normalized weights of train, valid and test (they sum to 1).
    public let weights: [Double]

    /// Parses `text` such as `"969,30,1"`, `"99,1"` or `"1"`.
    public init(_ text: String) throws {
        var numbers: [Double] = []
        var current = ""
        for ch in text + " " {
            if ch.isASCII && (ch.isNumber || ch == ".") { current.append(ch); continue }
            if !current.isEmpty {
                guard let v = Double(current) else {
                    throw DataError.invalidArgument("split '\(text)': '\(current)' is not a number")
                }
                numbers.append(v)
                current = ""
            }
        }
        guard !numbers.isEmpty, numbers.count <= 3 else {
            throw DataError.invalidArgument("split '\(text)' must hold one to three weights, e.g. \"969,30,1\"")
        }
        while numbers.count < 3 { numbers.append(0) }
        let total = numbers.reduce(0, +)
        guard total > 0 else { throw DataError.invalidArgument("split '\(text)': the weights sum to zero") }
        weights = numbers.map { $0 / total }
    }

    public var description: String { weights.map { "\($0)" }.joined(separator: ",") }

    /// The `[begin, end)` fractions of each split, or `nil` where the split is empty.
    public var matrix: [(Double, Double)?] {
        var ends = [0.0]
        for w in weights { ends.append(ends.last! + w) }
        return (0..<3).map { i in ends[i + 1] <= ends[i] ? nil : (ends[i], ends[i + 1]) }
    }

    /// The sequence range of `split` in a dataset of `count` sequences, or `nil` if the split is absent.
    public func range(of split: DatasetSplit, count: Int) -> Range<Int>? {
        guard let (begin, end) = matrix[split.rawValue] else { return nil }
        let lo = Int((begin * Double(count)).rounded(.toNearestOrEven))
        let hi = Int((end * Double(count)).rounded(.toNearestOrEven))
        return lo..<max(lo, hi)
    }
}
