import Foundation

/// One accelerator (or one CPU socket acting as one): its peak rates and memory.
public struct DeviceSpec: Codable, Equatable, Sendable {
    /// Device name for reports.
    public var name: String
    /// Memory capacity in bytes.
    public var memoryBytes: Double
    /// Memory bandwidth in bytes/s; sets the time of elementwise work and the optimizer step.
    public var memoryBandwidth: Double
    /// Dense peak FLOP/s with bf16 inputs, or nil when the device has no such mode.
    public var peakBF16: Double?
    /// Dense peak FLOP/s with fp16 inputs, or nil.
    public var peakFP16: Double?
    /// Dense peak FLOP/s in fp32, or nil.
    public var peakFP32: Double?

    /// A device from its datasheet figures; pass nil for a precision it does not support.
    public init(name: String, memoryBytes: Double, memoryBandwidth: Double,
                peakBF16: Double?, peakFP16: Double?, peakFP32: Double?) {
        self.name = name
        self.memoryBytes = memoryBytes
        self.memoryBandwidth = memoryBandwidth
        self.peakBF16 = peakBF16
        self.peakFP16 = peakFP16
        self.peakFP32 = peakFP32
    }

    /// Peak FLOP/s for a precision, or nil when unsupported.
    public func peak(_ precision: Precision) -> Double? {
        switch precision {
        case .bf16: return peakBF16
        case .fp16: return peakFP16
        case .fp32: return peakFP32
        }
    }
}

/// A link's nominal bandwidth and the fraction of it that collectives achieve.
public struct LinkSpec: Codable, Equatable, Sendable {
    /// Bytes/s in one direction: per device for the intra-node link, per node for the network.
    public var bandwidth: Double
    /// Achieved fraction of `bandwidth` for large all-reduces (NCCL "bus bandwidth" over nominal).
    public var efficiency: Double

    /// A link from its nominal one-way bandwidth and the fraction collectives reach.
    public init(bandwidth: Double, efficiency: Double) {
        self.bandwidth = bandwidth
        self.efficiency = efficiency
    }

    /// Bytes/s a large collective actually moves.
    public var effective: Double { bandwidth * efficiency }
}

/// A homogeneous cluster: `nodes` × `devicesPerNode` devices, an intra-node link, a network, and the
/// software profile that says how much of it training achieves.
///
/// A `--cluster` spec is `PRESET[:NODES][@SOFTWARE]` or a JSON file:
/// ```swift
/// let selene = try ClusterSpec.resolve("dgx-a100-80gb:280@megatron-deepspeed")
/// selene.deviceCount   // 2240
/// ```
public struct ClusterSpec: Codable, Equatable, Sendable {
    /// Preset name or free label.
    public var name: String
    /// Number of nodes.
    public var nodes: Int
    /// Devices in one node.
    public var devicesPerNode: Int
    /// The device.
    public var device: DeviceSpec
    /// Link between devices of one node (NVLink/NVSwitch); `bandwidth` is per device, one direction.
    public var intraNode: LinkSpec
    /// Network between nodes (InfiniBand); `bandwidth` is the node's total over all its NICs, one direction.
    public var interNode: LinkSpec
    /// Software stack and its fitted efficiency.
    public var software: SoftwareProfile

    /// A cluster from its parts; presets and `resolve(_:)` are the usual way to get one.
    public init(name: String, nodes: Int, devicesPerNode: Int, device: DeviceSpec, intraNode: LinkSpec,
                interNode: LinkSpec, software: SoftwareProfile) {
        self.name = name
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
        self.device = device
        self.intraNode = intraNode
        self.interNode = interNode
        self.software = software
    }

    /// Total devices.
    public var deviceCount: Int { nodes * devicesPerNode }

    /// Network bytes/s available to one device, its share of the node's NICs.
    public var interNodePerDevice: Double { interNode.effective / Double(devicesPerNode) }

    /// Checks that every figure is positive.
    public func validate() throws(PlanError) {
        if nodes < 1 || devicesPerNode < 1 {
            throw .invalidCluster("nodes ≥ 1 and devices per node ≥ 1 are required, got \(nodes) × \(devicesPerNode)")
        }
        let figures = [("device.memoryBytes", device.memoryBytes), ("device.memoryBandwidth", device.memoryBandwidth),
                       ("intraNode.bandwidth", intraNode.bandwidth), ("interNode.bandwidth", interNode.bandwidth),
                       ("intraNode.efficiency", intraNode.efficiency), ("interNode.efficiency", interNode.efficiency),
                       ("software.computeFraction", software.computeFraction)]
        for (field, value) in figures where !(value > 0) {
            throw .invalidCluster("\(field) must be positive, got \(value)")
        }
        if software.computeFraction > 1 {
            throw .invalidCluster("software.computeFraction must be ≤ 1, got \(software.computeFraction)")
        }
    }
}

// MARK: - Presets

extension ClusterSpec {
    /// DGX A100 80GB, one node. A100 SXM4 80GB: 312 TFLOP/s dense bf16/fp16 tensor core, 19.5 fp32,
    /// 2,039 GB/s HBM2e, 80 GiB (NVIDIA A100 datasheet, "A100 80GB SXM" column). NVLink 3 through
    /// NVSwitch: 600 GB/s per GPU both directions, so 300 GB/s each way; 8 × HDR InfiniBand
    /// 200 Gb/s per node = 200 GB/s (NVIDIA DGX A100 datasheet). Link efficiencies: an 8-GPU NVLink
    /// all-reduce reaches ≈ 200–208 GB/s bus bandwidth (NVIDIA/nccl-tests issues #149 and #178), so 0.70;
    /// a multi-node HDR all-reduce reaches 85–96 of 100 GB/s nominal (NVIDIA/nccl issue #119), so 0.85.
    public static let dgxA100 = ClusterSpec(
        name: "dgx-a100-80gb", nodes: 1, devicesPerNode: 8,
        device: DeviceSpec(name: "A100-SXM4-80GB", memoryBytes: 80 * gib, memoryBandwidth: 2.039e12,
                           peakBF16: 312e12, peakFP16: 312e12, peakFP32: 19.5e12),
        intraNode: LinkSpec(bandwidth: 300e9, efficiency: 0.70),
        interNode: LinkSpec(bandwidth: 200e9, efficiency: 0.85),
        software: .megatron)

    /// DGX H100, one node. H100 SXM5 80GB: 989 TFLOP/s dense bf16/fp16, 67 fp32, 3.35 TB/s HBM3
    /// (NVIDIA H100 datasheet, "H100 SXM" column, without sparsity). NVLink 4: 900 GB/s per GPU both
    /// directions; 8 × ConnectX-7 400 Gb/s per node = 400 GB/s (NVIDIA DGX H100 datasheet). The link
    /// efficiencies and the Megatron compute fraction are the A100's: nothing here is calibrated on H100.
    public static let dgxH100 = ClusterSpec(
        name: "dgx-h100", nodes: 1, devicesPerNode: 8,
        device: DeviceSpec(name: "H100-SXM5-80GB", memoryBytes: 80 * gib, memoryBandwidth: 3.35e12,
                           peakBF16: 989e12, peakFP16: 989e12, peakFP32: 67e12),
        intraNode: LinkSpec(bandwidth: 450e9, efficiency: 0.70),
        interNode: LinkSpec(bandwidth: 400e9, efficiency: 0.85),
        software: .megatron)

    /// This 2-core machine as one device (both cores, one process), from GUIDE.md "The machine":
    /// fp32 FMA peak ≈ 336 GFLOP/s; `vdpbf16ps` bf16 peak ≈ 163 GFLOP/s (half the fp32 rate); no fp16
    /// figure; 31 GB/s memory read bandwidth; 24 GiB of memory. Its only measured "network" is Open MPI
    /// between processes on this box: a 16 MiB all-reduce over 2 ranks in 4.7 ms, i.e. 3.57 GB/s of bus
    /// bandwidth, used for both links with efficiency 1 because it is already a measured rate.
    public static let thisMachine = ClusterSpec(
        name: "this-machine", nodes: 1, devicesPerNode: 1,
        device: DeviceSpec(name: "Xeon 2-core (AVX-512)", memoryBytes: 24 * gib, memoryBandwidth: 31e9,
                           peakBF16: 163e9, peakFP16: nil, peakFP32: 336e9),
        intraNode: LinkSpec(bandwidth: 16_777_216 / 0.0047, efficiency: 1),
        interNode: LinkSpec(bandwidth: 16_777_216 / 0.0047, efficiency: 1),
        software: .measuredCPU)

    /// Every cluster preset (each one node; `:NODES` scales it).
    public static let presets: [ClusterSpec] = [dgxA100, dgxH100, thisMachine]

    /// The names accepted by `preset(named:)`.
    public static var presetNames: [String] { presets.map(\.name) }

    /// Looks up a preset; the error lists the valid names.
    public static func preset(named name: String) throws(PlanError) -> ClusterSpec {
        if let found = presets.first(where: { $0.name == name.lowercased() }) { return found }
        throw .unknownPreset(kind: "cluster", name: name, valid: presetNames)
    }

    /// The precision a plan uses when none is asked for: bf16 where the device has it at full rate,
    /// fp32 on CPUs, where bf16 halves the FLOP rate (GUIDE.md).
    public var defaultPrecision: Precision {
        if let bf16 = device.peakBF16, let fp32 = device.peakFP32, fp32 >= bf16 { return .fp32 }
        return device.peakBF16 != nil ? .bf16 : .fp32
    }

    /// Parses `PRESET[:NODES][@SOFTWARE]` (e.g. `dgx-a100-80gb:280@megatron-deepspeed`) or reads a JSON
    /// file holding a whole `ClusterSpec`.
    public static func resolve(_ spec: String) throws(PlanError) -> ClusterSpec {
        if spec.hasSuffix(".json") || FileManager.default.fileExists(atPath: spec) {
            let cluster: ClusterSpec = try decodeJSONFile(spec, what: "cluster spec")
            try cluster.validate()
            return cluster
        }
        var rest = Substring(spec)
        var software: SoftwareProfile?
        if let at = rest.firstIndex(of: "@") {
            software = try SoftwareProfile.preset(named: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var nodes: Int?
        if let colon = rest.firstIndex(of: ":") {
            let count = rest[rest.index(after: colon)...]
            guard let parsed = Int(count), parsed >= 1 else {
                throw .invalidCluster("'\(spec)': the node count after ':' must be a positive integer, got '\(count)'")
            }
            nodes = parsed
            rest = rest[..<colon]
        }
        var cluster = try preset(named: String(rest))
        if let nodes { cluster.nodes = nodes }
        if let software { cluster.software = software }
        return cluster
    }
}
