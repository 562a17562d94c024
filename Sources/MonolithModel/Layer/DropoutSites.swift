import MonolithKernels

extension TransformerLayer {
    /// Dropout sites of a block, with per-step seeds.
    public struct DropoutSites: Sendable {
        public let attention, attnResidual, mlpResidual: Dropout
        public static let none = DropoutSites(attention: Dropout(p: 0, seed: 0), attnResidual: Dropout(p: 0, seed: 0),
                                              mlpResidual: Dropout(p: 0, seed: 0))
        public init(attention: Dropout, attnResidual: Dropout, mlpResidual: Dropout) {
            self.attention = attention; self.attnResidual = attnResidual; self.mlpResidual = mlpResidual
        }

        /// The sites of block `layer` for micro-batch `step` (sites 1–3 of the layer; the embedding
        /// is site 0 of layer `n_layer`, ``embedding(p:seed:step:layers:)``). Every model that must
        /// draw the same masks — every ``ModelShard``, whatever its layout — derives them here.
        public static func layer(_ layer: Int, p: Float, seed: UInt64, step: Int) -> DropoutSites {
            guard p > 0 else { return .none }
            let site = { (k: Int) in Dropout(p: p, seed: Dropout.seed(base: seed, step: step, layer: layer, site: k)) }
            return DropoutSites(attention: site(1), attnResidual: site(2), mlpResidual: site(3))
        }

        /// The embedding-output site for micro-batch `step` of a model with `layers` blocks.
        public static func embedding(p: Float, seed: UInt64, step: Int, layers: Int) -> Dropout {
            Dropout(p: p, seed: Dropout.seed(base: seed, step: step, layer: layers, site: 0))
        }
    }
}
