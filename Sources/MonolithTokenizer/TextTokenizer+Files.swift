import Foundation

extension TextTokenizer {
    /// Token ids of the text file at `path`.
    ///
    /// Invalid UTF-8 is rejected with the file name and the byte offset of the first bad byte,
    /// unless `replaceInvalid` is set, in which case each maximal invalid sequence decodes to
    /// U+FFFD (Python's `errors="replace"`).
    public func encode(file path: String, replaceInvalid: Bool = false) throws -> [Int32] {
        let text = try UTF8Text.decode(VocabularyFiles.read(path), file: path, replaceInvalid: replaceInvalid)
        if let chars = self as? CharTokenizer {
            do { return try chars.encodeChecked(text) } catch let e as TokenizerError {
                throw TokenizerError(file: path, e.message)
            }
        }
        return encode(text)
    }
}
