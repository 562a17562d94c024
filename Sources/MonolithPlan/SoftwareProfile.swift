/// What the training software achieves on the hardware: the one fitted constant of the time model,
/// and the implementation choices that change memory and communication.
///
/// A profile stands for a training stack as published. The same 530B model with the same
/// tensor × pipeline split on the same Selene nodes ran at 126 TFLOP/s per GPU in MT-NLG (DeepSpeed +
/// Megatron) and at 159–171 in Megatron-LM alone (Narayanan et al. 2021, Table 2); our model explains
/// part of that gap (bubble, interleaving) and the rest is the software, so each stack gets its own
/// compute fraction, fitted once on its own paper.
public struct SoftwareProfile: Codable, Equatable, Sendable {
    /// Profile name (`megatron`, `megatron-deepspeed`, `measured-cpu`, or free text in JSON).
    public var name: String
    /// Achieved fraction of the device's peak on the transformer's FLOPs, net of everything the model
    /// times separately (communication, bubble, memory-bound elementwise work, optimizer).
    public var computeFraction: Double
    /// Whether the data-parallel gradient reduction overlaps the backward pass.
    public var overlapsGradientReduce: Bool
    /// Whether an fp32 copy of the gradients is kept (and reduced) besides the 16-bit ones; it makes
    /// mixed-precision Adam cost 20 bytes per parameter instead of the ZeRO paper's 16.
    public var fp32GradientBuffer: Bool
    /// Whether pipeline sends are split over the tensor-parallel ranks and re-gathered over the
    /// intra-node link (Megatron's scatter/gather optimization, Narayanan et al. 2021, §4.1).
    public var scatterGatherP2P: Bool

    /// A profile; give a measured or fitted `computeFraction`.
    public init(name: String, computeFraction: Double, overlapsGradientReduce: Bool = false,
                fp32GradientBuffer: Bool = false, scatterGatherP2P: Bool = true) {
        self.name = name
        self.computeFraction = computeFraction
        self.overlapsGradientReduce = overlapsGradientReduce
        self.fp32GradientBuffer = fp32GradientBuffer
        self.scatterGatherP2P = scatterGatherP2P
    }

    /// Megatron-LM as in Narayanan et al. 2021. `computeFraction` 0.586 is the minimax fit of the ten
    /// rows of their Table 1 (fp16, full recomputation, no ZeRO, gradient all-reduce after the
    /// pipeline flush as Megatron's local DDP did); see docs/plan.md for the fit and the residuals.
    public static let megatron = SoftwareProfile(
        name: "megatron", computeFraction: 0.586, overlapsGradientReduce: false,
        fp32GradientBuffer: false, scatterGatherP2P: true)

    /// DeepSpeed + Megatron as MT-NLG trained (Smith et al. 2022). `computeFraction` 0.523 is the
    /// minimax fit of their three published iteration times (§2.4: 60.1 / 50.2 / 44.4 s on
    /// 280 / 350 / 420 nodes). bf16 with an fp32 gradient buffer is their 20 bytes per parameter (§2.1).
    public static let megatronDeepSpeed = SoftwareProfile(
        name: "megatron-deepspeed", computeFraction: 0.523, overlapsGradientReduce: false,
        fp32GradientBuffer: true, scatterGatherP2P: true)

    /// Monolith on this machine, from measured figures rather than a fit: sgemm reaches ≈ 90% of the
    /// fp32 FMA peak on transformer shapes (GUIDE.md, "The machine": 290–306 of 336 GFLOP/s).
    public static let measuredCPU = SoftwareProfile(
        name: "measured-cpu", computeFraction: 0.90, overlapsGradientReduce: false,
        fp32GradientBuffer: false, scatterGatherP2P: false)

    /// Every profile preset.
    public static let presets: [SoftwareProfile] = [megatron, megatronDeepSpeed, measuredCPU]

    /// Looks up a profile; the error lists the valid names.
    public static func preset(named name: String) throws(PlanError) -> SoftwareProfile {
        if let found = presets.first(where: { $0.name == name.lowercased() }) { return found }
        throw .unknownPreset(kind: "software profile", name: name, valid: presets.map(\.name))
    }
}
