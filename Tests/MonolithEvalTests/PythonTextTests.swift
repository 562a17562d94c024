import MonolithKernels
import Foundation
import Testing
@testable import MonolithEval

/// Python string behaviour and lm-eval's HellaSwag `preprocess`, against CPython's own output
/// (python_text.json from scripts/make_eval_fixtures.py).
@Suite struct PythonTextTests {
    let fixture = try! EvalFixtures.json("python_text.json")

    func pairs(_ key: String) -> [[JSONValue]] { fixture[key]!.array!.map { $0.array! } }

    @Test func hellaswagPreprocessEqualsLMEval() {
        for p in pairs("preprocess") { #expect(HellaSwagText.preprocess(p[0].string!) == p[1].string!, "\(p[0].excerpt)") }
    }

    @Test func capitalizeEqualsPython() {
        for p in pairs("capitalize") { #expect(PythonString.capitalize(p[0].string!) == p[1].string!, "\(p[0].excerpt)") }
    }

    @Test func whitespaceIsPythonsIsspace() {
        let expected = Set(fixture["whitespace"]!.array!.map { UInt32($0.int!) })
        for v in UInt32(0)..<0x11_0000 {
            guard let s = Unicode.Scalar(v) else { continue }
            #expect(PythonString.isSpace(s) == expected.contains(v), "U+\(String(v, radix: 16))")
        }
    }

    @Test func stripAndSplitEqualPython() {
        for p in pairs("rstrip") {
            let t = p[0].string!
            #expect(PythonString.rstrip(t) == p[1].string!)
            #expect(PythonString.strip(t) == p[2].string!)
            #expect(PythonString.split(t, on: " ") == p[3].array!.map { $0.string! })
        }
    }

    @Test func floatReprEqualsPython() {
        for p in pairs("float_repr") {
            let v = Double(p[0].string!)!
            #expect(pythonFloatRepr(v) == p[1].string!, "\(p[0].string!)")
        }
    }

    @Test func jsonReadsAndWritesAsPython() throws {
        for p in pairs("json") {
            let value = try JSONValue.parse(p[0].string!, file: "fixture")
            #expect(value.pythonJSON == p[1].string!)
            #expect(value.pythonJSON(indent: 2) == p[2].string!)
        }
    }

    @Test func sha256EqualsHashlib() {
        for p in pairs("sha256") { #expect(SHA256.hex(p[0].string!) == p[1].string!, "\(p[0].excerpt)") }
    }

    @Test func pythonEqualityIgnoresKeyOrderAndNumberKinds() throws {
        let a = try JSONValue.parse(#"{"a": 1, "b": [true, 2.0]}"#, file: "a")
        let b = try JSONValue.parse(#"{"b": [1, 2], "a": 1.0}"#, file: "b")
        #expect(a == b)
        #expect(a != (try JSONValue.parse(#"{"a": 1}"#, file: "c")))
    }
}
