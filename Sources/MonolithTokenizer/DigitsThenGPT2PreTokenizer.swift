/// The pre-tokenizer of SmolLM, StarCoder and their kin (`tokenizer.ggml.pre` = `smollm`,
/// `starcoder`, `refact`): every number scalar (`\p{N}`) is a piece of its own, and the text
/// between them is split by GPT-2's pattern.
///
/// llama.cpp applies the two patterns `\p{N}` and GPT-2's one after the other
/// (`llama-vocab.cpp`, `LLAMA_VOCAB_PRE_TYPE_SMOLLM`); the models' own `tokenizer.json` says
/// `Sequence[Digits(individual_digits: true), ByteLevel(use_regex: true)]`. Both cut a number
/// away from a space before it: `"a  1"` is `a`, `␣␣`, `1`, where GPT-2's pattern alone gives
/// `a`, `␣`, `␣1`.
struct DigitsThenGPT2PreTokenizer: PieceScanner {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var position: Int
    /// GPT-2's scanner over the current run of non-number scalars, which ends at `segmentEnd`.
    private var segment: GPT2PreTokenizer
    private var segmentEnd: Int

    init(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) {
        self.base = base
        self.end = end
        position = start
        segment = GPT2PreTokenizer(base, from: start, to: start)
        segmentEnd = start
    }

    mutating func next() -> Int? {
        if position >= end { return nil }
        if position < segmentEnd {
            position = segment.next()!
            return position
        }
        let (cls, n) = CharacterClass.classify(base, position)
        if cls == CharacterClass.number {
            position += n
            return position
        }
        var j = position + n
        while j < end {
            let (c, m) = CharacterClass.classify(base, j)
            if c == CharacterClass.number { break }
            j += m
        }
        segment = GPT2PreTokenizer(base, from: position, to: j)
        segmentEnd = j
        position = segment.next()!
        return position
    }
}
