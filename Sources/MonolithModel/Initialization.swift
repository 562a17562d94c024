import MonolithKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A counter-based normal sampler: value `i` of stream `s` depends only on `(seed, s, i)`, so
/// initialization is parallel and gives the same weights for any thread count.
public struct CounterNormal: Sendable {
    /// The base seed.
    public let seed: UInt64
    /// Creates a sampler.
    public init(seed: UInt64) { self.seed = seed }

    /// SplitMix64's first draw from `x` (a 64-bit hash of it).
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 { SplitMix64.mix(x &+ SplitMix64.increment) }

    /// A standard normal draw (Box–Muller on two 32-bit uniforms).
    @inline(__always)
    public func sample(stream: Int, index: Int) -> Float {
        let h = CounterNormal.mix(seed ^ CounterNormal.mix(UInt64(stream)) &+ UInt64(index) &* 0xD6E8_FEB8_6659_FD93)
        let u1 = (Float(h >> 40) + 1) * (1.0 / 16_777_217.0)  // (0, 1]
        let u2 = Float((h >> 8) & 0xFF_FFFF) * (1.0 / 16_777_216.0)
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }
}

extension GPT {
    /// GPT-2 initialization as in `GPT2PreTrainedModel._init_weights`: weights ~ N(0, std),
    /// residual output projections (`attn.c_proj`, `mlp.c_proj`) ~ N(0, std/√(2·n_layer)),
    /// biases 0, LayerNorm weights 1. Llama's (`LlamaPreTrainedModel`): every matrix ~ N(0, std),
    /// RMSNorm weights 1.
    public func initializeWeights(seed: UInt64) {
        let base = parameters.base, config = config
        for (stream, spec) in layout.tensors.enumerated() {
            let p = base + spec.offset
            pool.parallelFor(spec.count) { range in
                Self.initialize(spec, stream: stream, elements: range, into: p + range.lowerBound, config: config, seed: seed)
            }
        }
    }

    /// Writes the initial values of elements `elements` of tensor `spec` (the `stream`-th of the
    /// layout) to `out`. Every value is a pure function of (seed, tensor, element), so a
    /// model-parallel shard can initialize its own slices and get exactly the whole model's values.
    public static func initialize(_ spec: TensorSpec, stream: Int, elements: Range<Int>, into out: UnsafeMutablePointer<Float>,
                                  config: GPTConfig, seed: UInt64) {
        if spec.shape.count == 1 && (spec.name.hasSuffix("ln_1.weight") || spec.name.hasSuffix("ln_2.weight")
                                     || spec.name.hasSuffix("ln_f.weight") || spec.name.hasSuffix("norm.weight")) {
            out.update(repeating: 1, count: elements.count)
        } else if spec.shape.count == 1 {
            out.update(repeating: 0, count: elements.count)
        } else {
            let sampler = CounterNormal(seed: seed)
            let std = !config.isLlama && spec.name.hasSuffix("c_proj.weight") ? config.initStd / (2 * Float(config.nLayer)).squareRoot() : config.initStd
            for (k, i) in elements.enumerated() { out[k] = std * sampler.sample(stream: stream, index: i) }
        }
    }
}
