import Foundation
import MonolithKernels
import MonolithModel
import MonolithTestSupport
import Testing

/// Forward and backward against `transformers.GPT2LMHeadModel` and `LlamaForCausalLM` (fp32,
/// eager attention).
@Suite("GPT-2 and Llama match PyTorch")
struct GPT2ReferenceTests {
    @Test("logits and loss to 1e-5 relative", arguments: ReferenceFixture.names + ReferenceFixture.llamaNames)
    func forward(name: String) throws {
        let fx = try ReferenceFixture(name)
        let model = try fx.model()
        let ids = try fx.file.ints("ids"), targets = try fx.file.ints("targets")
        let loss = try model.forward(ids: ids, targets: targets, batch: fx.batch, seqLen: fx.seqLen)!
        let refLoss = try fx.file.floats("loss")[0]
        #expect(abs(loss - refLoss) / abs(refLoss) < 1e-5, "loss \(loss) vs \(refLoss)")
        let n = fx.batch * fx.seqLen * fx.config.vocabSize
        let err = relativeError(UnsafeBufferPointer(start: model.logits, count: n), try fx.file.floats("logits"))
        #expect(err < 1e-5, "logits relative error \(err)")
    }

    @Test("every parameter gradient to 1e-4 of its max", arguments: ReferenceFixture.names + ReferenceFixture.llamaNames)
    func backward(name: String) throws {
        let fx = try ReferenceFixture(name)
        let model = try fx.model()
        let ids = try fx.file.ints("ids"), targets = try fx.file.ints("targets")
        // Training runs on a shard; with one rank it is the whole model.
        let shard = ModelShard.whole(config: fx.config, batch: fx.batch, seqLen: fx.seqLen)
        shard.load(fullParameters: model.parameters.base)
        let acts = shard.makeActivations(chunk: 0)
        let loss = try shard.forward(acts, ids: ids, targets: targets, input: nil, output: nil)!
        #expect(abs(Float(loss.sum / Double(loss.count)) - (try fx.file.floats("loss")[0])) < 1e-5 * abs(try fx.file.floats("loss")[0]))
        try shard.backward(acts, ids: ids, targets: targets, lossScale: 1, outputGradient: nil, inputGradient: nil)
        let grads = shard.layout.fullLayout(shard.gradients.base)
        let tensors = grads.withUnsafeBufferPointer { GPT.huggingFaceTensors(of: $0.baseAddress!, config: fx.config) }
        #expect(tensors.count == fx.file.entries.keys.filter { $0.hasPrefix("grad.") }.count)
        for t in tensors {
            let ref = try fx.file.floats("grad." + t.name)
            let err = t.values.withUnsafeBufferPointer { relativeError($0, ref) }
            #expect(err < 1e-4, "\(t.name): gradient relative error \(err)")
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
