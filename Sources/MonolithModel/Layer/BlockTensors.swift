import MonolithKernels

/// Pointers to one block's tensors inside a flat buffer (parameters or their gradients).
public struct BlockTensors {
    public let ln1w, ln1b, qkvw, qkvb, attnProjW, attnProjB, ln2w, ln2b, fcW, fcB, fcProjW, fcProjB: UnsafeMutablePointer<Float>

    /// Views of block `o` inside the buffer starting at `base`.
    public init(base: UnsafeMutablePointer<Float>, offsets o: BlockOffsets) {
        ln1w = base + o.ln1w; ln1b = base + o.ln1b; qkvw = base + o.qkvw; qkvb = base + o.qkvb
        attnProjW = base + o.attnProjW; attnProjB = base + o.attnProjB; ln2w = base + o.ln2w; ln2b = base + o.ln2b
        fcW = base + o.fcW; fcB = base + o.fcB; fcProjW = base + o.fcProjW; fcProjB = base + o.fcProjB
    }
}
