/// lm-eval's HellaSwag text clean-up (`lm_eval/tasks/hellaswag/utils.py`), character for
/// character.
public enum HellaSwagText {
    /// `preprocess(text)`: strip, `" [title]"` → `". "`, drop every `[…]` (no newline inside),
    /// then `"  "` → `" "` once (non-overlapping, so three spaces become two).
    public static func preprocess(_ text: String) -> String {
        var t = PythonString.strip(text)
        t = PythonString.replace(t, " [title]", with: ". ")
        t = PythonString.removeBracketed(t)
        return PythonString.replace(t, "  ", with: " ")
    }

    /// The query of a Hugging Face record (`process_docs`):
    /// `preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())`.
    public static func query(activityLabel: String, ctxA: String, ctxB: String) -> String {
        preprocess(activityLabel + ": " + ctxA + " " + PythonString.capitalize(ctxB))
    }
}
