import MonolithParallel

/// What a ``Trainer`` needs to train one rank's share of a model split by tensor and/or pipeline
/// parallelism (or trained with activation recompute): the shard's layout and the groups it talks
/// to. A value passed explicitly, like ``DataParallelContext``.
///
/// The trainer then keeps no full-sized training state: parameters, gradients and Adam moments
/// are the ``ModelShard``'s local buffers (further split over the data-parallel group by ZeRO),
/// and the full model is assembled only for checkpoints, evaluation and samples.
public struct ModelParallelContext: Sendable {
    /// Which tensors this rank owns and where.
    public let layout: ShardLayout
    /// Tensor-parallel group (all-reduces inside the blocks, vocab-parallel loss).
    public let tensor: any Communicator
    /// Pipeline group (activation sends and receives).
    public let pipeline: any Communicator
    /// First and last stage (tied embedding gradient) when this rank is on one of them and pp > 1.
    public let embedding: (any Communicator)?
    /// Every rank of this replica (global gradient norm, loss, assembling the full model).
    public let replica: any Communicator
    /// What backward recomputes.
    public let recompute: ActivationRecompute
    /// Sequence parallelism in the LayerNorm/residual regions (tp > 1).
    public let sequenceParallel: Bool

    /// A context from this rank's groups; `layout` must match their coordinates.
    public init(layout: ShardLayout, tensor: any Communicator, pipeline: any Communicator, embedding: (any Communicator)?,
                replica: any Communicator, recompute: ActivationRecompute, sequenceParallel: Bool = false) {
        self.layout = layout; self.tensor = tensor; self.pipeline = pipeline; self.recompute = recompute
        self.sequenceParallel = sequenceParallel && layout.tensorParallel > 1
        self.embedding = layout.stages > 1 ? embedding : nil
        self.replica = replica
    }
}
