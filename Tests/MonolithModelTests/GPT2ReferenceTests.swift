import Foundation
import MonolithKernels
import MonolithModel
import Testing

/// Forward and backward against `transformers.GPT2LMHeadModel` (fp32, eager attention).
@Suite("GPT-2 matches PyTorch")
struct GPT2ReferenceTests {
    @Test("logits and loss to 1e-5 relative", arguments: ReferenceFixture.names)
    func forward(name: String) throws {
        let fx = try ReferenceFixture(name)
        let model = try fx.model()
        let ids = try fx.file.ints("ids"), targets = try fx.file.ints("targets")
        let loss = try model.forward(ids: ids, targets: targets, batch: fx.batch, seqLen: fx.seqLen)!
        let refLoss = try fx.file.floats("loss")[0]
        #expect(abs(loss - refLoss) / abs(refLoss) < 1e-5, "loss \(loss) vs \(refLoss)")
        let n = fx.batch * fx.seqLen * fx.config.vocabSize
        let err = relativeError(UnsafeBufferPointer(start: model.activations!.logits, count: n), try fx.file.floats("logits"))
        #expect(err < 1e-5, "logits relative error \(err)")
    }

    @Test("every parameter gradient to 1e-4 of its max", arguments: ReferenceFixture.names)
    func backward(name: String) throws {
        let fx = try ReferenceFixture(name)
        let model = try fx.model()
        let ids = try fx.file.ints("ids"), targets = try fx.file.ints("targets")
        _ = try model.forward(ids: ids, targets: targets, batch: fx.batch, seqLen: fx.seqLen)
        model.zeroGradients()
        model.backward()
        for spec in model.layout.tensors {
            let ref = try fx.file.floats("grad." + spec.name)
            let err = relativeError(UnsafeBufferPointer(model.gradients[spec.offset, spec.count]), ref)
            #expect(err < 1e-4, "\(spec.name): gradient relative error \(err)")
        }
    }

    @Test("T shorter than the batch the activations were sized for reuses them")
    func shorterSequenceAfterLonger() throws {
        let fx = try ReferenceFixture("small")
        let model = try fx.model()
        let ids = try fx.file.ints("ids"), targets = try fx.file.ints("targets")
        let full = try model.forward(ids: ids, targets: targets, batch: fx.batch, seqLen: fx.seqLen)!
        _ = try model.forward(ids: Array(ids.prefix(5)), batch: 1, seqLen: 5)
        let again = try model.forward(ids: ids, targets: targets, batch: fx.batch, seqLen: fx.seqLen)!
        #expect(full == again)
    }
}

extension GPT {
    /// Array convenience for tests.
    @discardableResult
    func forward(ids: [Int32], targets: [Int32]? = nil, batch: Int, seqLen: Int) throws -> Float? {
        try ids.withUnsafeBufferPointer { i in
            if let targets {
                return try targets.withUnsafeBufferPointer { t in
                    try forward(ids: i.baseAddress!, targets: t.baseAddress!, batch: batch, seqLen: seqLen)
                }
            }
            return try forward(ids: i.baseAddress!, batch: batch, seqLen: seqLen)
        }
    }
}
