import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Single-precision GEMM through a system BLAS library, loaded at run time.
///
/// The library is opened with `dlopen` rather than linked, for one reason: OpenBLAS reads
/// `OPENBLAS_CORETYPE` only while it loads, and Debian's 0.3.21 misdetects this CPU family and runs
/// 5× slower without it. Loading it ourselves lets every entry point (CLI, tests, benchmarks) set
/// the right core type first, with nothing for the user to remember.
///
/// Selection, in order: `MONOLITH_BLAS` (`openblas`, `blis`, or a path to a shared library that
/// exports `cblas_sgemm`), then OpenBLAS, then BLIS. `MONOLITH_OPENBLAS_CORETYPE` overrides the
/// detected core type; an inherited `OPENBLAS_CORETYPE` is replaced by the detected one unless
/// `MONOLITH_KEEP_OPENBLAS_CORETYPE=1`, because the detected one is never slower on this CPU.
///
/// The library always runs single-threaded: ``WorkerPool`` splits each GEMM across cores, so one
/// pool owns the cores and no BLAS thread spins against it.
public final class Blas: @unchecked Sendable {
    /// The process-wide GEMM backend.
    public static let shared: Blas = {
        do { return try Blas.load() } catch {
            fatalError("\(error)")
        }
    }()

    typealias SgemmFn = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float,
                                        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
                                        Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreadsFn = @convention(c) (Int32) -> Void
    private let sgemmFn: SgemmFn
    private let setThreadsFn: SetThreadsFn?
    /// Human-readable name of the loaded library and its kernel family.
    public let description: String

    private init(sgemm: SgemmFn, setThreads: SetThreadsFn?, description: String) {
        self.sgemmFn = sgemm
        self.setThreadsFn = setThreads
        self.description = description
    }

    /// Lets the library itself use `n` threads per call (only for benchmarking the alternative to
    /// the pool split; ``gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:pool:)`` assumes 1).
    public func setLibraryThreads(_ n: Int) { setThreadsFn?(Int32(n)) }

    /// Errors raised while locating a BLAS library.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    static func load() throws -> Blas {
        let env = ProcessInfo.processInfo.environment
        let choice = env["MONOLITH_BLAS"] ?? "openblas"
        var candidates: [String]
        switch choice {
        case "openblas": candidates = ["libopenblas.so.0", "libopenblas.so", "libblis.so.4"]
        case "blis": candidates = ["libblis.so.4", "libblis.so"]
        default: candidates = [choice]
        }
        if candidates.contains(where: { $0.contains("openblas") }) {
            let detected = CPUFeatures.host.openBLASCoreType
            if let forced = env["MONOLITH_OPENBLAS_CORETYPE"] {
                setenv("OPENBLAS_CORETYPE", forced, 1)
            } else if let detected, env["MONOLITH_KEEP_OPENBLAS_CORETYPE"] != "1" {
                setenv("OPENBLAS_CORETYPE", detected, 1)
            }
            // Our pool owns the cores; OpenBLAS threads would only spin against it.
            setenv("OPENBLAS_NUM_THREADS", "1", 1)
        }
        setenv("BLIS_NUM_THREADS", "1", 0)
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else { continue }
            guard let sym = dlsym(handle, "cblas_sgemm") else { continue }
            var desc = name
            var setThreads: SetThreadsFn?
            if let coreSym = dlsym(handle, "openblas_get_corename") {
                typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?
                if let s = unsafeBitCast(coreSym, to: CoreName.self)() { desc += " (\(String(cString: s)) kernels)" }
            }
            if let threadsSym = dlsym(handle, "openblas_set_num_threads") {
                setThreads = unsafeBitCast(threadsSym, to: SetThreadsFn.self)
            }
            setThreads?(1)
            return Blas(sgemm: unsafeBitCast(sym, to: SgemmFn.self), setThreads: setThreads, description: desc)
        }
        throw LoadError(description: """
            monolith: no BLAS library found (tried \(candidates.joined(separator: ", "))). \
            Install one with: apt-get install -y libopenblas0-pthread   (or set MONOLITH_BLAS to a library path)
            """)
    }

    /// Row-major `C[m,n] = alpha · op(A) · op(B) + beta · C` on the calling thread.
    ///
    /// `op(A)` is `m×k` (`A` stored `k×m` when `transA`), `op(B)` is `k×n` (`B` stored `n×k` when `transB`).
    @inline(__always)
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        sgemmFn(101, transA ? 112 : 111, transB ? 112 : 111, Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Row-major GEMM split across the ``WorkerPool``: `C[m,n] = alpha · op(A) · op(B) + beta · C`.
///
/// Each thread computes a block of whole columns (or rows, when `m` is the larger side) with a
/// single-threaded BLAS call. Block edges are multiples of 64 so every thread keeps full
/// micro-kernel tiles.
public func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                 pool: WorkerPool = .shared) {
    let blas = Blas.shared
    let work = m * n * k
    if pool.threadCount == 1 || work < 1 << 18 {
        blas.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    if n >= m {
        pool.parallelFor(n, alignment: 64) { cols in
            let bOff = transB ? cols.lowerBound * ldb : cols.lowerBound
            blas.sgemm(transA: transA, transB: transB, m: m, n: cols.count, k: k, alpha: alpha,
                       a: a, lda: lda, b: b + bOff, ldb: ldb, beta: beta, c: c + cols.lowerBound, ldc: ldc)
        }
    } else {
        pool.parallelFor(m, alignment: 64) { rows in
            let aOff = transA ? rows.lowerBound : rows.lowerBound * lda
            blas.sgemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha,
                       a: a + aOff, lda: lda, b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
        }
    }
}
