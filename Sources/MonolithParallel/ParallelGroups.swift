/// The communicators of one rank on a ``ProcessGrid``, made by splitting the world.
///
/// Every rank must create its groups at the same point (the splits are collectives). The groups
/// are passed explicitly to the code that needs them; there is no global parallel state.
///
/// ```swift
/// let world = MPICommunicator.world()
/// let grid = try ProcessGrid(worldSize: world.size, tensorParallel: 2, pipelineParallel: 2)
/// let groups = try ParallelGroups(world: world, grid: grid)
/// print("\(groups.logPrefix) loss …")      // [tp 1/2 dp 0/1 pp 0/2] loss …
/// try groups.data.allReduce(gradients, op: .sum)
/// ```
public struct ParallelGroups: Sendable {
    /// The layout.
    public let grid: ProcessGrid
    /// This rank's place in it.
    public let coordinates: ProcessGrid.Coordinates
    /// All ranks.
    public let world: any Communicator
    /// Ranks that split the same layers (all-reduces of the tensor-parallel regions).
    public let tensor: any Communicator
    /// This rank's pipeline, indexed by stage (activation sends and receives).
    public let pipeline: any Communicator
    /// The replicas of this rank's shard (gradient all-reduce, ZeRO reduce-scatter/all-gather).
    public let data: any Communicator
    /// Every rank of this replica (global gradient norm, loss across stages).
    public let modelParallel: any Communicator
    /// First and last stage (tied embedding gradient); `nil` on middle stages.
    public let embedding: (any Communicator)?

    /// Splits `world` into this rank's groups. Throws when the grid does not match the world size.
    public init(world: any Communicator, grid: ProcessGrid) throws(CommError) {
        do { try grid.validate(worldSize: world.size) } catch { throw .invalidArgument(error.description) }
        let c = grid.coordinates(of: world.rank)
        let (tp, dp, pp) = (grid.tensorParallel, grid.dataParallel, grid.pipelineParallel)
        self.grid = grid
        coordinates = c
        self.world = world
        // Colors number the groups; keys order members by the coordinate that varies inside them.
        tensor = try world.split(color: c.dp + dp * c.pp, key: c.tp, label: "tp")!
        data = try world.split(color: c.tp + tp * c.pp, key: c.dp, label: "dp")!
        pipeline = try world.split(color: c.tp + tp * c.dp, key: c.pp, label: "pp")!
        modelParallel = try world.split(color: c.dp, key: c.tp + tp * c.pp, label: "model-parallel")!
        let onEmbeddingStage = c.pp == 0 || c.pp == pp - 1
        embedding = try world.split(color: onEmbeddingStage ? c.tp + tp * c.dp : nil, key: c.pp, label: "embedding")
    }

    /// `[tp 1/2 dp 0/1 pp 0/2]`: the prefix of every log line of this rank.
    public var logPrefix: String { grid.logPrefix(rank: world.rank) }

    /// Whether this rank runs the first pipeline stage (it reads the tokens).
    public var isFirstStage: Bool { coordinates.pp == 0 }
    /// Whether this rank runs the last pipeline stage (it computes the loss).
    public var isLastStage: Bool { coordinates.pp == grid.pipelineParallel - 1 }
    /// The one rank that prints progress: the first tensor rank of the first replica on the last
    /// stage, which is where the loss is known.
    public var isLoggingRank: Bool { coordinates.tp == 0 && coordinates.dp == 0 && isLastStage }
}
