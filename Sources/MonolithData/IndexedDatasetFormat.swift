/// Layout constants of Megatron's MMapIndexedDataset, from megatron-core's
/// `megatron/core/datasets/indexed_dataset.py` (`_IndexWriter` / `_IndexReader`).
///
/// `PREFIX.idx`, all little-endian, no padding:
///
/// | offset | bytes | field |
/// |---|---|---|
/// | 0 | 9 | magic `MMIDIDX\x00\x00` |
/// | 9 | 8 | u64 version, always 1 |
/// | 17 | 1 | u8 dtype code of the tokens (`TokenDType`) |
/// | 18 | 8 | u64 sequence count S |
/// | 26 | 8 | u64 document-index count D (= documents + 1) |
/// | 34 | 4·S | int32 length of each sequence, in tokens |
/// | 34+4S | 8·S | int64 byte offset of each sequence in `PREFIX.bin` |
/// | 34+12S | 8·D | int64 document indices: 0, then the sequence index ending each document |
/// | 34+12S+8D | S | int8 sequence modes, only in multimodal datasets |
///
/// `PREFIX.bin` is the tokens of every sequence back to back, in the dtype. A document is one or
/// more consecutive sequences (Megatron's `--split-sentences` makes one per sentence; Monolith
/// writes one sequence per document). The GPT dataset samples by *sequence*.
public enum IndexedDatasetFormat {
    /// The 9 magic bytes at the start of every `.idx` file.
    public static let magic: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
    /// The only version megatron-core writes or accepts.
    public static let version: UInt64 = 1
    /// Size of the fixed header before the sequence lengths.
    public static let headerSize = 34

    /// Path of the index file for `prefix`.
    public static func indexPath(_ prefix: String) -> String { prefix + ".idx" }
    /// Path of the token file for `prefix`.
    public static func dataPath(_ prefix: String) -> String { prefix + ".bin" }

    /// Expected `.idx` size for S sequences and D document indices (without modes).
    public static func indexSize(sequences: Int, documentIndices: Int) -> Int {
        headerSize + 12 * sequences + 8 * documentIndices
    }
}
