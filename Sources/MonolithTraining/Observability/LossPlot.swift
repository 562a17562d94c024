import Foundation

/// Draws training and validation loss against step as a self-contained SVG.
public enum LossPlot {
    /// The SVG document.
    public static func svg(train: [(Int, Double)], validation: [(Int, Double)], title: String) -> String {
        let w = 720.0, h = 420.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let all = train + validation
        guard let maxStep = all.map(\.0).max(), let lo = all.map(\.1).min(), let hi = all.map(\.1).max() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\"><text x=\"20\" y=\"40\">no data</text></svg>\n"
        }
        let yLo = lo - 0.05 * max(hi - lo, 1e-6), yHi = hi + 0.05 * max(hi - lo, 1e-6)
        let x = { (s: Int) in left + (w - left - right) * Double(s) / Double(max(1, maxStep)) }
        let y = { (v: Double) in top + (h - top - bottom) * (yHi - v) / (yHi - yLo) }
        func path(_ pts: [(Int, Double)]) -> String {
            pts.enumerated().map { i, p in String(format: "%@%.1f,%.1f", i == 0 ? "M" : "L", x(p.0), y(p.1)) }.joined(separator: " ")
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(Int(w / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        for i in 0...4 {
            let v = yLo + (yHi - yLo) * Double(i) / 4
            s += String(format: "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                        left, w - right, y(v), y(v), left - 6, y(v) + 4, v)
            let st = Int(Double(maxStep) * Double(i) / 4)
            s += String(format: "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n", x(st), h - bottom + 18, st)
        }
        s += "<text x=\"\(Int(w / 2))\" y=\"\(Int(h - 12))\" text-anchor=\"middle\">step</text>\n"
        s += "<text transform=\"translate(16,\(Int(h / 2))) rotate(-90)\" text-anchor=\"middle\">loss</text>\n"
        if !train.isEmpty { s += "<path d=\"\(path(train))\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n" }
        if !validation.isEmpty {
            s += "<path d=\"\(path(validation))\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\n"
            for p in validation { s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#d62728\"/>\n", x(p.0), y(p.1)) }
        }
        s += "<rect x=\"\(Int(w - right - 150))\" y=\"\(Int(top))\" width=\"140\" height=\"44\" fill=\"white\" stroke=\"#999\"/>\n"
        s += "<line x1=\"\(Int(w - right - 140))\" x2=\"\(Int(w - right - 115))\" y1=\"\(Int(top + 15))\" y2=\"\(Int(top + 15))\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"\(Int(w - right - 108))\" y=\"\(Int(top + 19))\">train</text>\n"
        s += "<line x1=\"\(Int(w - right - 140))\" x2=\"\(Int(w - right - 115))\" y1=\"\(Int(top + 33))\" y2=\"\(Int(top + 33))\" stroke=\"#d62728\" stroke-width=\"2\"/><text x=\"\(Int(w - right - 108))\" y=\"\(Int(top + 37))\">validation</text>\n"
        return s + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
