import Foundation
import Testing
@testable import MonolithPlan

@Suite struct SearchTests {
    /// The top result is valid, fits, and the list is ordered by step time.
    @Test func topResultIsValidAndFits() throws {
        let model = try ModelSpec.preset(named: "gpt3-175b")
        let cluster = try ClusterSpec.resolve("dgx-a100-80gb:16")
        let result = try Search.run(model: model, cluster: cluster,
                                    space: SearchSpace(globalBatch: 1536, sequenceLength: 2048), top: 5)
        #expect(result.top.count == 5)
        #expect(result.feasible <= result.evaluated)
        for plan in result.top {
            try plan.layout.validate(model: model, cluster: cluster)
            #expect(plan.memory.fits)
        }
        #expect(zip(result.top, result.top.dropFirst()).allSatisfy { $0.time.total <= $1.time.total })
        // 175B does not fit without model parallelism on 80 GB: the winner splits the model.
        #expect(result.top[0].layout.tensorParallel * result.top[0].layout.pipelineParallel > 1
                || result.top[0].layout.zeroStage == 3)
    }

    /// MT-NLG's own layout is in the space, so the search finds one at least as fast.
    @Test func searchBeatsOrMatchesMTNLG() throws {
        let run = PublishedRuns.mtnlg[0]
        let space = SearchSpace(globalBatch: 1920, sequenceLength: 2048, precision: .bf16, tensorParallel: 8)
        let result = try Search.run(model: run.model, cluster: run.cluster, space: space, top: 1)
        #expect(result.top[0].time.total <= run.plan().time.total)
        #expect(result.top[0].layout.tensorParallel == 8)
    }

    /// Fixed options are held fixed.
    @Test func fixedOptionsAreRespected() throws {
        let model = try ModelSpec.preset(named: "gpt2-1.5b")
        let cluster = try ClusterSpec.resolve("dgx-a100-80gb:2")
        let space = SearchSpace(globalBatch: 512, sequenceLength: 1024, pipelineParallel: 2, zeroStage: 1,
                                recompute: .selective)
        let result = try Search.run(model: model, cluster: cluster, space: space, top: 50)
        #expect(!result.top.isEmpty)
        #expect(result.top.allSatisfy {
            $0.layout.pipelineParallel == 2 && $0.layout.zeroStage == 1 && $0.layout.recompute == .selective
        })
    }

    /// A model that fits nowhere gets an error that says how much it needs and what the device has.
    @Test func infeasibleModelIsExplained() {
        #expect {
            try Search.run(model: ModelSpec.narayananTable1.last!, cluster: .thisMachine,
                           space: SearchSpace(globalBatch: 8, sequenceLength: 2048, precision: .fp32))
        } throws: { error in
            guard case .noFeasibleLayout(let message) = error as? PlanError else { return false }
            return message.contains("needs at least") && message.contains("24.0 GiB")
                && message.contains("megatron-1t")
        }
    }

    /// No layout at all (7 sequences cannot be split over 8 replicas) is its own clear error.
    @Test func noValidLayout() {
        #expect {
            try Search.run(model: ModelSpec.gpt2[0], cluster: ClusterSpec.dgxA100,
                           space: SearchSpace(globalBatch: 7, sequenceLength: 1024, tensorParallel: 1,
                                              pipelineParallel: 1))
        } throws: { error in
            guard case .noFeasibleLayout(let message) = error as? PlanError else { return false }
            return message.contains("no valid layout") && message.contains("global batch % dp == 0")
        }
    }

    /// Progress is reported and ends at the total.
    @Test func progressReachesTheTotal() throws {
        var last = (0, 0)
        _ = try Search.run(model: ModelSpec.mtnlg530b, cluster: PublishedRuns.mtnlg[0].cluster,
                           space: SearchSpace(globalBatch: 1920, sequenceLength: 2048)) { done, total in
            last = (done, total)
        }
        #expect(last.0 == last.1 && last.1 > 0)
    }
}

@Suite struct ReportTests {
    /// The JSON decodes back into the same plan, so scripts see every number.
    @Test func jsonRoundTrip() throws {
        let plan = PublishedRuns.mtnlg[0].plan()
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(Report.json(plan).utf8))
        #expect(decoded == plan)
    }

    @Test func tableNamesTheParts() {
        let text = Report.text(PublishedRuns.mtnlg[0].plan())
        for part in ["weights", "optimizer states", "activations", "pipeline bubble", "tensor-parallel all-reduce",
                     "data-parallel reduction", "TFLOP/s per device", "MFU", "tokens/s", "fits"] {
            #expect(text.contains(part), "missing \(part)")
        }
    }

    /// The parts of the step time add up to the total.
    @Test(arguments: PublishedRuns.mtnlg + PublishedRuns.narayananTable1)
    func partsAddUp(run: PublishedRun) {
        let t = run.plan().time
        let sum = t.compute + t.memoryBound + t.tensorParallel + t.pipelineP2P + t.bubble + t.dataParallel + t.optimizer
        #expect(abs(sum / t.total - 1) < 1e-12)
    }

    /// A layout that does not fit says so.
    @Test func doesNotFitIsShown() throws {
        let plan = try Planner.plan(model: ModelSpec.gpt3_175b, cluster: .dgxA100, layout: Layout(
            tensorParallel: 8, pipelineParallel: 1, dataParallel: 1, globalBatch: 8, sequenceLength: 2048))
        #expect(!plan.memory.fits)
        #expect(Report.text(plan).contains("DOES NOT FIT"))
        #expect("\(PlanError.doesNotFit(needed: 100 * gib, capacity: 80 * gib, largest: "optimizer states"))"
                    .contains("needs 100.0 GiB per device but the device has 80.0 GiB"))
    }
}
