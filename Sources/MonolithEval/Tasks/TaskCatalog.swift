import Foundation

/// Resolves the names given to `--tasks` into loaded tasks: a built-in task's data file is found
/// in the data directory by name; a name ending in `.toml` is a user task file (``TaskFile``).
public struct TaskCatalog {
    /// Where built-in tasks' files are looked for.
    public let dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    /// The data file of built-in task `spec`: the first of its file names that exists in the
    /// data directory; an error lists the names tried.
    public func dataFile(for spec: BuiltinTasks.Spec) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EvalError("--data-dir \(dataDirectory): no such directory")
        }
        for name in spec.fileNames {
            let path = (dataDirectory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw EvalError("no data file for task \(spec.name) in \(dataDirectory); tried: \(spec.fileNames.joined(separator: ", "))")
    }

    /// Loads every task of `names` (a comma-separated `--tasks` value, already split).
    public func load(_ names: [String]) throws -> [EvalTask] {
        var tasks: [EvalTask] = []
        for raw in names {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { continue }
            let task: EvalTask
            if name.hasSuffix(".toml") {
                task = try TaskFile.load(path: name, dataDirectory: dataDirectory)
            } else if let spec = BuiltinTasks.spec(name) {
                task = try BuiltinTasks.load(spec, path: dataFile(for: spec))
            } else {
                throw EvalError("unknown task '\(name)'; known tasks: \(BuiltinTasks.names.joined(separator: ", ")) (or a task file ending in .toml)")
            }
            guard !tasks.contains(where: { $0.name == task.name }) else { throw EvalError("task \(task.name) is listed twice in --tasks") }
            tasks.append(task)
        }
        guard !tasks.isEmpty else { throw EvalError("--tasks lists no task; known tasks: \(BuiltinTasks.names.joined(separator: ", "))") }
        return tasks
    }
}
