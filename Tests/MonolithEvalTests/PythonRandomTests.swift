import Testing
@testable import MonolithEval

/// The Mersenne Twister port against CPython's `random.Random` (fixture from
/// scripts/make_eval_fixtures.py): seeding from integers of every size and sign, `random()`,
/// `getrandbits`, both branches of `sample`, and `choices`.
@Suite struct PythonRandomTests {
    let fixture = try! EvalFixtures.json("python_random.json")

    @Test func randomAndGetrandbitsEqualCPython() throws {
        for entry in fixture["seeds"]!.array! {
            let seed = entry["seed"]!.int!
            var mt = MersenneTwister(seed: seed)
            for expected in entry["random"]!.array! { #expect(mt.random() == expected.double!, "seed \(seed)") }
            var bits = MersenneTwister(seed: seed)
            for pair in entry["getrandbits"]!.array! {
                let k = pair.array![0].int!
                #expect(String(bits.getrandbits(k)) == pair.array![1].string!, "seed \(seed) k \(k)")
            }
        }
    }

    @Test func sampleEqualsCPythonInBothBranches() throws {
        for entry in fixture["samples"]!.array! {
            let seed = entry["seed"]!.int!, n = entry["n"]!.int!, k = entry["k"]!.int!
            var rnd = PythonRandom(seed: seed)
            for draw in entry["draws"]!.array! {
                #expect(rnd.sample(populationCount: n, k: k) == draw.array!.map { $0.int! }, "seed \(seed), sample(\(n), \(k))")
            }
        }
    }

    @Test func choicesEqualCPython() throws {
        for entry in fixture["choices"]!.array! {
            var rnd = PythonRandom(seed: entry["seed"]!.int!)
            #expect(rnd.choices(populationCount: entry["n"]!.int!, k: entry["k"]!.int!) == entry["draws"]!.array!.map { $0.int! })
        }
    }
}
