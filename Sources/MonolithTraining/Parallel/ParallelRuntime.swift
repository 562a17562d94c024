import MonolithModel
import MonolithParallel

/// The parallel side of one `monolith train` process: its groups on the process grid, the
/// data-parallel context and this rank's model-parallel share, handed to the ``Trainer``. Built
/// once from `[parallel]` and the world communicator, then passed explicitly (no global state).
/// A single process is the grid 1 × 1 × 1 on a ``SingleRankCommunicator``: the same code, with
/// every collective a no-op.
public struct ParallelRuntime: Sendable {
    /// This rank's groups.
    public let groups: ParallelGroups
    /// Data-parallel group and ZeRO stage for the trainer.
    public let dataParallel: DataParallelContext
    /// This rank's shard layout, its tensor/pipeline groups and the recompute policy (tp = pp = 1:
    /// the whole model).
    public let modelParallel: ModelParallelContext

    /// Whether this process prints progress and writes metrics, TensorBoard events and checkpoints.
    public var isLoggingRank: Bool { groups.isLoggingRank }
    /// `[tp 0/1 dp 1/2 pp 0/1]`.
    public var logPrefix: String { groups.logPrefix }

    /// Builds the grid for `world` from `section` (`dp` 0: whatever tp·pp leaves) and checks that
    /// the model and batch (micro-batches of `seqLen` tokens, default the context) divide over it.
    ///
    /// Call it after `world.ensureIdentical` on the resolved configuration: every check then passes
    /// or fails identically on all ranks, so a bad layout ends every rank with the same message
    /// instead of leaving some waiting in a collective.
    public static func make(world: any Communicator, section: ParallelSection, model: GPTConfig, microBatch: Int,
                            globalBatch: Int, seqLen: Int? = nil) throws -> ParallelRuntime {
        let seqLen = seqLen ?? model.contextLength
        let tp = section.tp, pp = section.pp
        guard world.size % (tp * pp) == 0 else {
            throw TrainingError("invalid parallel layout: tp \(tp) × pp \(pp) does not divide the world size \(world.size) (mpirun -np)")
        }
        let dp = section.dp == 0 ? world.size / (tp * pp) : section.dp
        let grid: ProcessGrid
        do {
            grid = try ProcessGrid(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp)
            try grid.validate(worldSize: world.size)
            try grid.validate(model: model, microBatch: microBatch, globalBatch: globalBatch, virtualStages: section.virtualStages)
        } catch { throw TrainingError("\(error)") }
        if section.sequenceParallel && tp == 1 {
            throw TrainingError("parallel.sequence_parallel needs parallel.tp > 1 (it splits the LayerNorm regions over the tensor group)")
        }
        if section.sequenceParallel && (microBatch * seqLen) % tp != 0 {
            throw TrainingError("parallel.sequence_parallel: micro-batch × sequence = \(microBatch * seqLen) tokens do not split over tp \(tp)")
        }
        let groups = try ParallelGroups(world: world, grid: grid)
        let c = groups.coordinates
        let layout = ShardLayout(config: model, tensorParallel: tp, tensorRank: c.tp, stages: pp, stage: c.pp,
                                 virtualStages: section.virtualStages)
        let modelParallel = ModelParallelContext(layout: layout, tensor: groups.tensor, pipeline: groups.pipeline,
                                                 embedding: groups.embedding, replica: groups.modelParallel,
                                                 recompute: section.activationRecompute, sequenceParallel: section.sequenceParallel)
        return ParallelRuntime(groups: groups,
                               dataParallel: DataParallelContext(group: groups.data, zeroStage: section.zero, parameterCount: layout.count),
                               modelParallel: modelParallel)
    }

    /// One process: the 1 × 1 × 1 grid on a single-rank world, with `section`'s recompute policy.
    public static func single(model: GPTConfig, microBatch: Int = 1, seqLen: Int? = nil,
                              section: ParallelSection = ParallelSection()) throws -> ParallelRuntime {
        var one = section
        one.tp = 1; one.pp = 1; one.dp = 1; one.virtualStages = 1; one.sequenceParallel = false
        return try make(world: SingleRankCommunicator(name: "world"), section: one, model: model, microBatch: microBatch,
                        globalBatch: microBatch, seqLen: seqLen)
    }

    /// Whether `section` asks for more than one process.
    public static func wantsParallel(_ section: ParallelSection) -> Bool {
        section.tp > 1 || section.pp > 1 || section.dp > 1 || section.zero > 0
    }

    /// Agrees on a flag across the world (true when any rank raised it): a SIGINT delivered to one
    /// rank must stop all of them at the same step.
    public func any(_ flag: Bool) throws -> Bool {
        try groups.world.allReduce(Int32(flag ? 1 : 0), op: .max) == 1
    }
}
