import MonolithKernels

/// Pointers to one block's tensors inside a flat buffer (parameters or their gradients); the
/// biases are nil for a Llama block.
public struct BlockTensors {
    public let ln1w, qkvw, attnProjW, ln2w, fcW, fcProjW: UnsafeMutablePointer<Float>
    public let ln1b, qkvb, attnProjB, ln2b, fcB, fcProjB: UnsafeMutablePointer<Float>?

    /// Views of block `o` inside the buffer starting at `base`.
    public init(base: UnsafeMutablePointer<Float>, offsets o: BlockOffsets) {
        func at(_ offset: Int?) -> UnsafeMutablePointer<Float>? { offset.map { base + $0 } }
        ln1w = base + o.ln1w; qkvw = base + o.qkvw; attnProjW = base + o.attnProjW; ln2w = base + o.ln2w
        fcW = base + o.fcW; fcProjW = base + o.fcProjW
        ln1b = at(o.ln1b); qkvb = at(o.qkvb); attnProjB = at(o.attnProjB); ln2b = at(o.ln2b); fcB = at(o.fcB); fcProjB = at(o.fcProjB)
    }
}
