import Foundation

/// Renders plans and search results as terminal tables or JSON.
public enum Report {
    /// A plan as a readable report: layout, memory per device, step time by part, throughput.
    public static func text(_ plan: Plan) -> String {
        let layout = plan.layout, memory = plan.memory, time = plan.time, cluster = plan.cluster
        let grid = RankGrid(layout: layout, cluster: cluster)
        var lines: [String] = []
        lines.append("\(plan.model.name) on \(cluster.nodes) × \(cluster.name) = \(cluster.deviceCount) × "
                     + "\(cluster.device.name) (software: \(cluster.software.name))")
        lines.append("layout    tp \(layout.tensorParallel) × pp \(layout.pipelineParallel) × dp \(layout.dataParallel), "
                     + "v \(layout.virtualStages), micro-batch \(layout.microBatch), global batch \(layout.globalBatch), "
                     + "seq \(layout.sequenceLength), ZeRO-\(layout.zeroStage), recompute \(layout.recompute.rawValue), "
                     + "\(layout.precision.rawValue)\(layout.sequenceParallel ? ", sequence parallel" : "")")
        let schedule = layout.virtualStages > 1 ? "interleaved 1F1B" : "1F1B"
        lines.append("          \(layout.microBatchesPerStep) micro-batches per pipeline (\(schedule)), "
                     + "bubble (p − 1)/(v·m) = \(percent(layout.bubbleFraction))")
        lines.append("params    \(count(plan.totalParameters)) in all, \(count(memory.parameters)) on the busiest "
                     + "device (pipeline stage \(memory.stage))")
        lines.append("")

        lines.append(row("memory per device (stage \(memory.stage))", "GiB", ""))
        lines.append(row("  weights", fixed(memory.weights / gib, 2), ""))
        lines.append(row("  gradients", fixed(memory.gradients / gib, 2), ""))
        lines.append(row("  optimizer states", fixed(memory.optimizerStates / gib, 2), ""))
        let held = layout.virtualStages == 1
            ? "\(memory.chunksInFlight) micro-batches in flight (1F1B)"
            : "\(memory.chunksInFlight) chunk passes in flight (interleaved, v \(layout.virtualStages))"
        let layers = "\(memory.layersPerChunk) layer\(memory.layersPerChunk == 1 ? "" : "s")"
        lines.append(row("  activations", fixed(memory.activations / gib, 2), "\(held) × \(layers)"))
        lines.append(row("    per layer and micro-batch", fixed(memory.activationsPerLayer / gib, 3),
                         "recompute \(layout.recompute.rawValue); "
                         + "\(fixed(memory.activationsPerLayerWithoutRecompute / gib, 3)) GiB without recompute"))
        let verdict = memory.fits ? "fits" : "DOES NOT FIT"
        lines.append(row("  total", fixed(memory.total / gib, 2),
                         "of \(fixed(memory.capacity / gib, 1)) GiB: \(verdict)"))
        lines.append("")

        let digits = time.total < 1 ? 4 : (time.total < 10 ? 3 : 2)
        let tensorLink = grid.collectiveBandwidth(stride: 1, size: layout.tensorParallel) == cluster.intraNode.effective
            ? "intra-node" : "network"
        let pipeLink = grid.pipelineCrossesNodes ? "network" : "intra-node"
        let dataLink = grid.membersPerNode(stride: layout.tensorParallel, size: layout.dataParallel) == layout.dataParallel
            ? "intra-node" : "network"
        let parts: [(String, Double, String)] = [
            ("  compute", time.compute,
             "\(percent(cluster.software.computeFraction)) of \(rate(cluster.device.peak(layout.precision) ?? 0)) peak"),
            ("  elementwise (memory-bound)", time.memoryBound, ""),
            ("  tensor-parallel all-reduce", time.tensorParallel, layout.tensorParallel > 1 ? tensorLink : ""),
            ("  pipeline p2p", time.pipelineP2P, layout.pipelineParallel > 1 ? pipeLink : ""),
            ("  pipeline bubble", time.bubble, ""),
            ("  data-parallel reduction", time.dataParallel,
             layout.dataParallel > 1
                ? "\(dataLink); \(fixed(time.dataParallelWithoutOverlap, digits)) s without overlap" : ""),
            ("  optimizer step", time.optimizer, ""),
        ]
        lines.append(row("step time", "s", "share"))
        let unused: Set<String> = Set([
            layout.tensorParallel == 1 ? "  tensor-parallel all-reduce" : nil,
            layout.pipelineParallel == 1 ? "  pipeline p2p" : nil,
            layout.pipelineParallel == 1 ? "  pipeline bubble" : nil,
            layout.dataParallel == 1 ? "  data-parallel reduction" : nil,
        ].compactMap { $0 })
        for (name, seconds, note) in parts where !unused.contains(name) {
            let share = percent(seconds / time.total).padding(toLength: 6, withPad: " ", startingAt: 0)
            lines.append(row(name, fixed(seconds, digits), share + (note.isEmpty ? "" : "  \(note)")))
        }
        lines.append(row("  total", fixed(time.total, digits), ""))
        lines.append("")
        let t = plan.throughput
        lines.append("throughput  \(rate(t.tflopsPerDevice * 1e12)) per device · MFU \(percent(t.mfu)) · "
                     + "HFU \(percent(t.hfu)) · \(grouped(t.tokensPerSecond)) tokens/s · "
                     + "\(fixed(t.secondsPerStep, digits)) s/step")
        return lines.joined(separator: "\n")
    }

    /// The top plans of a search as a table, fastest first.
    public static func text(_ result: SearchResult, model: ModelSpec, cluster: ClusterSpec) -> String {
        var lines = ["\(model.name) on \(cluster.nodes) × \(cluster.name) = \(cluster.deviceCount) devices: "
                     + "\(result.evaluated) valid layouts, \(result.feasible) fit in memory; fastest \(result.top.count):"]
        let header = ["#", "tp", "pp", "dp", "v", "mb", "zero", "recompute", "mem GiB", "step s", "TFLOP/s", "MFU",
                      "tokens/s"]
        var rows = [header]
        for (rank, plan) in result.top.enumerated() {
            let l = plan.layout
            rows.append([String(rank + 1), String(l.tensorParallel), String(l.pipelineParallel), String(l.dataParallel),
                         String(l.virtualStages), String(l.microBatch), String(l.zeroStage), l.recompute.rawValue,
                         fixed(plan.memory.total / gib, 1), fixed(plan.time.total, plan.time.total < 10 ? 3 : 2),
                         fixed(plan.throughput.tflopsPerDevice, 1), percent(plan.throughput.mfu),
                         grouped(plan.throughput.tokensPerSecond)])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max()! }
        for cells in rows {
            let padded = cells.enumerated().map { column, cell in
                column == 7 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(padded.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    /// Pretty-printed JSON with sorted keys, for scripts.
    public static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Plans hold only finite numbers (validation rejects a missing peak); fall back loudly otherwise.
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            return "{\"error\": \"plan holds a non-finite number\"}"
        }
        return text
    }

    private static func row(_ label: String, _ value: String, _ note: String) -> String {
        var line = label.padding(toLength: 36, withPad: " ", startingAt: 0)
            + String(repeating: " ", count: max(0, 9 - value.count)) + value + (note.isEmpty ? "" : "   " + note)
        while line.last == " " { line.removeLast() }
        return line
    }

    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 1) + "%" }

    /// A FLOP rate in TFLOP/s, or GFLOP/s below one TFLOP/s (CPUs).
    static func rate(_ flops: Double) -> String {
        flops >= 1e12 ? fixed(flops / 1e12, 1) + " TFLOP/s" : fixed(flops / 1e9, 1) + " GFLOP/s"
    }

    /// A parameter count with its magnitude: 124.4 M, 529.6 B, 1.01 T.
    static func count(_ value: Double) -> String {
        if value >= 1e12 { return fixed(value / 1e12, 2) + " T" }
        if value >= 1e9 { return fixed(value / 1e9, 2) + " B" }
        if value >= 1e6 { return fixed(value / 1e6, 1) + " M" }
        return fixed(value, 0)
    }

    /// An integer with thousands separators: 65,432.
    static func grouped(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e18 else { return fixed(value, 0) }
        let digits = String(Int(value.rounded()))
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 && character != "-" { out.append(",") }
            out.append(character)
        }
        return String(out.reversed())
    }
}
