/// Vectorized transcendental functions.
///
/// glibc's `expf`/`tanhf` are scalar (≈ 26 ns per element here), which would make softmax over a
/// 50k vocabulary slower than the GEMM that produced it. These work 16 lanes at a time.
public typealias Vec = SIMD16<Float>

/// Lane count of ``Vec``.
public let vecWidth = 16

/// `e^x` for 16 lanes, within ~2 ulp for inputs in [-87, 88] (inputs outside are clamped).
///
/// Range reduction `x = n·ln2 + r` with |r| ≤ ln2/2, a degree-6 Taylor polynomial for `e^r`, and
/// `2^n` built directly in the exponent bits. Rounding uses the 1.5·2²³ trick because
/// `SIMD16<Int32>(floats)` compiles to a slow per-lane conversion.
@inlinable @inline(__always)
public func fastExp(_ x: Vec) -> Vec {
    let x = pointwiseMax(pointwiseMin(x, Vec(repeating: 88.0)), Vec(repeating: -87.0))
    let magic = Vec(repeating: 12_582_912)  // 1.5 · 2^23
    let t = magic.addingProduct(x, Vec(repeating: 1.442_695_04))
    let n = t - magic
    var r = x.addingProduct(n, Vec(repeating: -0.693_145_751_953_125))
    r = r.addingProduct(n, Vec(repeating: -1.428_606_765_330_187e-06))
    var p = Vec(repeating: 1.0 / 120.0).addingProduct(r, Vec(repeating: 1.0 / 720.0))
    p = Vec(repeating: 1.0 / 24.0).addingProduct(p, r)
    p = Vec(repeating: 1.0 / 6.0).addingProduct(p, r)
    p = Vec(repeating: 0.5).addingProduct(p, r)
    p = Vec(repeating: 1.0).addingProduct(p, r)
    p = Vec(repeating: 1.0).addingProduct(p, r)
    let nBits = unsafeBitCast(t, to: SIMD16<Int32>.self) &- SIMD16<Int32>(repeating: 0x4B40_0000)
    let bits = unsafeBitCast(p, to: SIMD16<Int32>.self) &+ (nBits &<< 23)
    return unsafeBitCast(bits, to: Vec.self)
}

/// Scalar `e^x` with the same accuracy as ``fastExp(_:)-(Vec)`` (for loop tails).
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float { fastExp(Vec(repeating: x))[0] }

/// Loads 16 floats from `p` (no alignment requirement).
@inlinable @inline(__always)
public func load(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

/// Stores 16 floats at `p` (no alignment requirement).
@inlinable @inline(__always)
public func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}
