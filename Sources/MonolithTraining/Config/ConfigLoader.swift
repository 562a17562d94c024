import Foundation
import MonolithModel
import TOMLKit

/// A configuration problem located in its source: a file and line, or a command-line flag.
public struct ConfigFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Builds a ``JobConfig`` from, in order: the defaults (or a preset), a TOML file, and dotted
/// command-line overrides such as `--optimizer.lr 3e-4`. Unknown keys and wrong types are errors
/// that name the file and line (or the flag); nothing is silently ignored.
public enum ConfigLoader {
    /// Loads and validates a job configuration.
    public static func load(preset: String? = nil, file: String? = nil, overrides: [String] = []) throws -> JobConfig {
        var base = JobConfig()
        if let preset {
            guard let p = Presets.job(preset) else {
                throw ConfigFileError("unknown preset '\(preset)'; choose one of: \(Presets.names.joined(separator: ", "))")
            }
            base = p
        }
        let table = try TOMLTable(string: TOMLWriter.encode(base))
        // Where each `section.key` was last set: `file:line` for the file; nothing for a flag,
        // whose name already is the field's.
        var origins: [String: String] = [:]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigFileError("\(file): cannot read the config file")
            }
            guard let text = String(data: data, encoding: .utf8) else { throw ConfigFileError("\(file): not valid UTF-8") }
            let user: TOMLTable
            do { user = try TOMLTable(string: text) } catch let e as TOMLParseError {
                throw ConfigFileError("\(file):\(e.source.begin.line):\(e.source.begin.column): \(e.description)")
            }
            try merge(user, into: table, source: { section, key in location(file: file, text: text, section: section, key: key) })
            for section in user.keys { for key in user[section]?.table?.keys ?? [] {
                origins[section + "." + key] = location(file: file, text: text, section: section, key: key)
            } }
        }
        try applyOverrides(overrides, to: table, origins: &origins)
        func located(_ field: String, _ message: String) -> ConfigFileError {
            ConfigFileError((origins[field].map { $0 + ": " } ?? "") + field + ": " + message)
        }
        let config: JobConfig
        do {
            config = try TOMLDecoder(strictDecoding: true).decode(JobConfig.self, from: table)
        } catch let DecodingError.typeMismatch(type, ctx) {
            throw located(path(ctx.codingPath), "expected \(describe(type)); \(ctx.debugDescription)")
        } catch let DecodingError.dataCorrupted(ctx) {
            // A ``ConfigChoice`` outside its set: `expected one of none, selective, full; got "fast"`.
            throw located(path(ctx.codingPath), ctx.debugDescription)
        }
        do { try config.validate() } catch let e as ConfigError {
            if let origin = origins[e.field] { throw ConfigFileError("\(origin): \(e.field): \(e.message)") }
            throw e
        }
        return config
    }

    /// Keys that were renamed, with their new place (an old config gets a pointer, not just "unknown").
    static let renamed = ["tokenizer.directory": "tokenizer.path (with tokenizer.kind = \"gpt2\" or \"files\")"]

    /// Splits raw arguments into `--section.key value` overrides, rejecting anything else.
    public static func applyOverrides(_ args: [String], to table: TOMLTable) throws {
        var origins: [String: String] = [:]
        try applyOverrides(args, to: table, origins: &origins)
    }

    /// Applies `--section.key value` overrides; each overridden field loses its file origin.
    static func applyOverrides(_ args: [String], to table: TOMLTable, origins: inout [String: String]) throws {
        var i = 0
        while i < args.count {
            let flag = args[i]
            guard flag.hasPrefix("--"), flag.contains(".") else {
                throw ConfigFileError("unexpected argument '\(flag)'; overrides look like --optimizer.lr 3e-4")
            }
            var keyPath = String(flag.dropFirst(2)), value: String
            if let eq = keyPath.firstIndex(of: "=") {
                value = String(keyPath[keyPath.index(after: eq)...]); keyPath = String(keyPath[..<eq])
                i += 1
            } else {
                guard i + 1 < args.count else { throw ConfigFileError("\(flag): missing value") }
                value = args[i + 1]; i += 2
            }
            let parts = keyPath.replacingOccurrences(of: "-", with: "_").split(separator: ".").map(String.init)
            guard parts.count == 2, let section = table[parts[0]]?.table else {
                throw ConfigFileError("\(flag): unknown section '\(parts.first ?? "")' (sections: \(table.keys.sorted().joined(separator: ", ")))")
            }
            guard let existing = section[parts[1]] else {
                throw ConfigFileError("\(flag): unknown key '\(parts[1])' in [\(parts[0])]\(hint(parts[0], parts[1])) (keys: \(section.keys.sorted().joined(separator: ", ")))")
            }
            section[parts[1]] = try parseValue(value, like: existing, flag: flag)
            origins[parts[0] + "." + parts[1]] = nil
        }
    }

    /// Parses a command-line value as the TOML type of the key's default.
    static func parseValue(_ raw: String, like existing: TOMLValueConvertible, flag: String) throws -> TOMLValueConvertible {
        switch existing.type {
        case .int:
            guard let v = Int(raw) else { throw ConfigFileError("\(flag): expected an integer, got '\(raw)'") }
            return v
        case .double:
            guard let v = Double(raw) else { throw ConfigFileError("\(flag): expected a number, got '\(raw)'") }
            return v
        case .bool:
            guard let v = Bool(raw) else { throw ConfigFileError("\(flag): expected true or false, got '\(raw)'") }
            return v
        case .array:
            let doc = "v = \(raw.hasPrefix("[") ? raw : "[" + raw.split(separator: ",").map { "\"\($0)\"" }.joined(separator: ",") + "]")"
            guard let t = try? TOMLTable(string: doc), let arr = t["v"] else {
                throw ConfigFileError("\(flag): expected a list like [1, 2] or a,b; got '\(raw)'")
            }
            return arr
        default:
            return raw
        }
    }

    /// Copies `user` over the defaults, refusing unknown sections and keys.
    static func merge(_ user: TOMLTable, into table: TOMLTable, source: (String, String?) -> String) throws {
        for section in user.keys {
            guard let target = table[section]?.table else {
                throw ConfigFileError("\(source(section, nil)): unknown section [\(section)] (sections: \(table.keys.sorted().joined(separator: ", ")))")
            }
            guard let values = user[section]?.table else {
                throw ConfigFileError("\(source(section, nil)): '\(section)' must be a [section] table")
            }
            for key in values.keys {
                guard let existing = target[key] else {
                    throw ConfigFileError("\(source(section, key)): unknown key '\(key)' in [\(section)]\(hint(section, key)) (keys: \(target.keys.sorted().joined(separator: ", ")))")
                }
                let v = values[key]!
                let compatible = v.type == existing.type || (existing.type == .double && v.type == .int)
                guard compatible else {
                    throw ConfigFileError("\(source(section, key)): [\(section)] \(key) must be \(describeTOML(existing.type)), got \(describeTOML(v.type))")
                }
                target[key] = existing.type == .double && v.type == .int ? Double(v.int!) : v
            }
        }
    }

    /// `; renamed to …` for a key that moved.
    static func hint(_ section: String, _ key: String) -> String {
        renamed[section + "." + key].map { "; renamed to " + $0 } ?? ""
    }

    static func location(file: String, text: String, section: String, key: String?) -> String {
        if let line = lineOf(text: text, section: section, key: key) { return "\(file):\(line)" }
        return file
    }

    /// 1-based line of `key` inside `[section]` (or of the section header when `key` is nil).
    static func lineOf(text: String, section: String, key: String?) -> Int? {
        var current = ""
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if key == nil && current == section { return i + 1 }
                continue
            }
            if let key, current == section, line.hasPrefix(key),
               line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                return i + 1
            }
        }
        return nil
    }

    static func path(_ codingPath: [CodingKey]) -> String { codingPath.map(\.stringValue).joined(separator: ".") }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: "an integer"
        case is Float.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)"
        }
    }

    static func describeTOML(_ t: TOMLType) -> String {
        switch t {
        case .int: "an integer"
        case .double: "a number"
        case .bool: "true or false"
        case .string: "a string"
        case .array: "a list"
        case .table: "a table"
        default: "\(t)"
        }
    }

    /// The resolved configuration as TOML (`monolith train --print-config`, the run's `config.toml`),
    /// with every number as short as reads back the same (`0.95`, not `0.94999998807907104`).
    public static func toml(_ config: JobConfig) throws -> String { try TOMLWriter.encode(config) }
}
