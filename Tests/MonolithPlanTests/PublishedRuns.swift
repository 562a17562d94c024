import Testing
@testable import MonolithPlan

/// A training run whose layout and speed were published, and how to plan it.
struct PublishedRun: CustomTestStringConvertible, Sendable {
    /// Short label for test output.
    let label: String
    let model: ModelSpec
    let cluster: ClusterSpec
    let layout: Layout
    /// Published achieved TFLOP/s per GPU (with the 96Bslh²(…) count, recomputation included).
    let tflopsPerGPU: Double
    /// Published seconds per iteration, where the paper gives it.
    let secondsPerIteration: Double?

    var testDescription: String { label }

    /// The plan with the run's own cluster (and so its own software profile).
    func plan(software: SoftwareProfile? = nil) -> Plan {
        var cluster = self.cluster
        if let software { cluster.software = software }
        return try! Planner.plan(model: model, cluster: cluster, layout: layout)
    }
}

enum PublishedRuns {
    /// MT-NLG 530B (Smith et al. 2022, §2.4): tp 8, pp 35, global batch 1920, sequence 2048 on
    /// 280 / 350 / 420 DGX A100 nodes took 60.1 / 50.2 / 44.4 s per iteration, i.e. 126 / 121 / 113
    /// TFLOP/s per GPU, with bf16 and full activation checkpointing. We take micro-batch 1, ZeRO-1
    /// (DeepSpeed's pipeline engine allows no higher stage) and its plain, non-interleaved 1F1B schedule.
    static let mtnlg: [PublishedRun] = [(280, 60.1, 126.0), (350, 50.2, 121.0), (420, 44.4, 113.0)].map {
        nodes, seconds, tflops in
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = nodes
        cluster.software = .megatronDeepSpeed
        let layout = Layout(tensorParallel: 8, pipelineParallel: 35, dataParallel: nodes * 8 / 280,
                            virtualStages: 1, microBatch: 1, globalBatch: 1920, sequenceLength: 2048,
                            zeroStage: 1, recompute: .full, precision: .bf16)
        return PublishedRun(label: "mt-nlg-530b on \(nodes) nodes", model: ModelSpec.mtnlg530b, cluster: cluster,
                            layout: layout, tflopsPerGPU: tflops, secondsPerIteration: seconds)
    }

    /// Narayanan et al. 2021, Table 1 (weak scaling on Selene, DGX A100 80GB): model, tensor- and
    /// pipeline-parallel size, number of GPUs, batch size, achieved TFLOP/s per GPU. §5.1: fp16,
    /// activation recomputation, the interleaved schedule with scatter/gather. The table gives neither the
    /// micro-batch nor the chunks per stage: we take micro-batch 1 and v = the smallest divisor > 1 of
    /// the layers per stage (2 for 1T, 3 for 530B).
    static let narayananTable1: [PublishedRun] = [
        ("megatron-1.7b", 1, 1, 32, 137.0), ("megatron-3.6b", 2, 1, 64, 138.0),
        ("megatron-7.5b", 4, 1, 128, 142.0), ("megatron-18.4b", 8, 1, 256, 135.0),
        ("megatron-39.1b", 8, 2, 512, 138.0), ("megatron-76.1b", 8, 4, 1024, 140.0),
        ("megatron-145.6b", 8, 8, 1536, 148.0), ("megatron-310.1b", 8, 16, 1920, 155.0),
        ("megatron-529.6b", 8, 35, 2520, 163.0), ("megatron-1t", 8, 64, 3072, 163.0),
    ].map { name, t, p, gpus, tflops in
        let model = try! ModelSpec.preset(named: name)
        return megatronRun(label: "\(name) on \(gpus) GPUs (Table 1)", model: model, t: t, p: p, gpus: gpus,
                           batch: model.publishedGlobalBatch!, tflops: tflops)
    }

    /// Narayanan et al. 2021, Table 2 (PTD-P rows of the comparison with ZeRO-3): GPT-3 175B with
    /// tp 8, pp 12, batch 1536 on 384 / 768 / 1536 GPUs at 153 / 149 / 141 TFLOP/s, and the 530B
    /// model with tp 8, pp 35, batch 2240 on 560 / 1120 / 2240 GPUs at 171 / 167 / 159.
    static let narayananTable2: [PublishedRun] = [
        ("gpt3-175b", 12, 1536, 384, 153.0), ("gpt3-175b", 12, 1536, 768, 149.0),
        ("gpt3-175b", 12, 1536, 1536, 141.0), ("megatron-529.6b", 35, 2240, 560, 171.0),
        ("megatron-529.6b", 35, 2240, 1120, 167.0), ("megatron-529.6b", 35, 2240, 2240, 159.0),
    ].map { name, p, batch, gpus, tflops in
        var model = try! ModelSpec.preset(named: name)
        model.vocabulary = 51200  // all of the paper's models use a 51,200-token vocabulary (§5.1)
        return megatronRun(label: "\(name) on \(gpus) GPUs (Table 2)", model: model, t: 8, p: p, gpus: gpus,
                           batch: batch, tflops: tflops)
    }

    private static func megatronRun(label: String, model: ModelSpec, t: Int, p: Int, gpus: Int, batch: Int,
                                    tflops: Double) -> PublishedRun {
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = gpus / 8
        cluster.software = .megatron
        let perStage = model.layers / p
        let v = p == 1 ? 1 : (2...perStage).first { perStage % $0 == 0 }!
        let layout = Layout(tensorParallel: t, pipelineParallel: p, dataParallel: gpus / (t * p),
                            virtualStages: v, microBatch: 1, globalBatch: batch, sequenceLength: 2048,
                            zeroStage: 0, recompute: .full, precision: .fp16)
        return PublishedRun(label: label, model: model, cluster: cluster, layout: layout,
                            tflopsPerGPU: tflops, secondsPerIteration: nil)
    }

    /// The compute fraction that minimizes the largest relative TFLOP/s error over `runs`, to 0.001:
    /// how `SoftwareProfile.computeFraction` was derived.
    static func minimaxComputeFraction(_ runs: [PublishedRun], base: SoftwareProfile) -> (fraction: Double, worst: Double) {
        var best = (fraction: 0.0, worst: Double.infinity)
        for step in 300...900 {
            var software = base
            software.computeFraction = Double(step) / 1000
            let worst = runs.map { run in
                abs(run.plan(software: software).throughput.tflopsPerDevice / run.tflopsPerGPU - 1)
            }.max()!
            if worst < best.worst { best = (software.computeFraction, worst) }
        }
        return best
    }
}
