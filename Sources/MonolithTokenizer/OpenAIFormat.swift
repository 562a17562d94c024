import MonolithKernels
extension BPETokenizer {
    /// Loads OpenAI's GPT-2 files: `encoder.json` (token text → id) and `vocab.bpe` (merges).
    ///
    /// Those of `specialTokens` present in the vocabulary are matched in text as special tokens.
    public static func loadOpenAI(encoder: String, merges: String,
                                  specialTokens: [String] = ["<|endoftext|>"]) throws -> BPETokenizer {
        let vocabulary = try VocabularyFiles.vocabulary(
            JSONValue.parse(VocabularyFiles.read(encoder), file: encoder), file: encoder)
        let mergeList = try VocabularyFiles.mergesText(VocabularyFiles.read(merges), file: merges)
        let present = Dictionary(vocabulary, uniquingKeysWith: { a, _ in a })
        let specials = specialTokens.compactMap { s in present[s].map { (s, $0) } }
        let model = try VocabularyFiles.model(
            vocabulary: vocabulary, vocabularyFile: encoder, merges: mergeList, mergesFile: merges,
            lineNumbers: true, addedTokens: specials, wholeWordShortcut: false)
        return BPETokenizer(model: model, source: encoder)
    }

    /// Loads Hugging Face's `vocab.json` and `merges.txt` (the same content as OpenAI's files
    /// under other names).
    public static func loadHuggingFace(vocab: String, merges: String,
                                       specialTokens: [String] = ["<|endoftext|>"]) throws -> BPETokenizer {
        try loadOpenAI(encoder: vocab, merges: merges, specialTokens: specialTokens)
    }
}
