import Dialects
import Foundation
import GatewayCore

/// Checks a JSON value against a JSON Schema: the draft 2020-12 keywords of `JSONSchemaKeywords`
/// (a schema with any other is refused at load), local `$ref`s (`#`, `#/$defs/…`,
/// `#/definitions/…`). A violation is described by where it is and what the schema wanted
/// (`$.items[2].total: expected number`), never by the value found.
struct JSONSchemaValidator: @unchecked Sendable {
    let root: JSONValue
    /// `pattern` and `patternProperties` compiled once. NSRegularExpression is thread-safe.
    private let patterns: [String: NSRegularExpression]

    init?(_ schema: [UInt8]) {
        guard let root = try? JSONScanner.parse(schema) else { return nil }
        self.root = root
        var patterns: [String: NSRegularExpression] = [:]
        Self.collectPatterns(root, into: &patterns)
        self.patterns = patterns
    }

    private static func collectPatterns(_ schema: JSONValue, into patterns: inout [String: NSRegularExpression]) {
        switch schema {
        case .object(let object):
            for member in object.members {
                if member.key == "pattern", let text = member.value.string {
                    patterns[text] = try? NSRegularExpression(pattern: text)
                }
                if member.key == "patternProperties", let names = member.value.object {
                    for name in names.members { patterns[name.key] = try? NSRegularExpression(pattern: name.key) }
                }
                collectPatterns(member.value, into: &patterns)
            }
        case .array(let elements):
            for element in elements { collectPatterns(element, into: &patterns) }
        default:
            break
        }
    }

    /// The first violation of `value`, nil when it matches.
    func violation(_ value: JSONValue) -> String? {
        check(root, value, path: "$", depth: 0)
    }

    private func matches(_ pattern: String, _ text: String) -> Bool {
        guard let expression = patterns[pattern] else { return false }
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    private static func isInteger(_ value: JSONValue) -> Bool {
        guard let double = value.double else { return false }
        return double.isFinite && double.rounded() == double
    }

    /// JSON equality for `enum`, `const` and `uniqueItems`: numbers by value, objects by members.
    private static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.number, .number): return lhs.double == rhs.double
        case (.array(let left), .array(let right)):
            return left.count == right.count && zip(left, right).allSatisfy { equal($0, $1) }
        case (.object(let left), .object(let right)):
            guard left.members.count == right.members.count else { return false }
            return left.members.allSatisfy { member in right[member.key].map { equal(member.value, $0) } ?? false }
        default: return lhs == rhs
        }
    }

    private func resolve(_ reference: String) -> JSONValue? {
        if reference == "#" { return root }
        for prefix in ["#/$defs/", "#/definitions/"] where reference.hasPrefix(prefix) {
            let name = String(reference.dropFirst(prefix.count)).replacingOccurrences(of: "~1", with: "/")
                .replacingOccurrences(of: "~0", with: "~")
            return root[prefix == "#/$defs/" ? "$defs" : "definitions"]?[name]
        }
        return nil
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func check(_ schema: JSONValue, _ value: JSONValue, path: String, depth: Int) -> String? {
        guard depth < 64 else { return "\(path): schema nested too deeply" }
        if case .bool(let allowed) = schema { return allowed ? nil : "\(path): not allowed" }
        guard let schema = schema.object else { return nil }
        if let reference = schema["$ref"]?.string {
            guard let target = resolve(reference) else { return "\(path): unresolvable $ref \(reference)" }
            if let failure = check(target, value, path: path, depth: depth + 1) { return failure }
        }
        if let type = schema["type"] {
            let wanted = type.string.map { [$0] } ?? (type.array ?? []).compactMap(\.string)
            let actual = Self.typeName(value)
            let fits = wanted.contains { name in
                name == actual || (name == "integer" && Self.isInteger(value))
            }
            if !fits { return "\(path): expected \(wanted.joined(separator: " or "))" }
        }
        if let options = schema["enum"]?.array, !options.contains(where: { Self.equal($0, value) }) {
            return "\(path): not one of the allowed values"
        }
        if let constant = schema["const"], !Self.equal(constant, value) { return "\(path): not the required value" }
        if let number = value.double {
            if let limit = schema["minimum"]?.double, number < limit { return "\(path): below the minimum \(limit)" }
            if let limit = schema["maximum"]?.double, number > limit { return "\(path): above the maximum \(limit)" }
            if let limit = schema["exclusiveMinimum"]?.double, number <= limit {
                return "\(path): not above \(limit)"
            }
            if let limit = schema["exclusiveMaximum"]?.double, number >= limit {
                return "\(path): not below \(limit)"
            }
            if let divisor = schema["multipleOf"]?.double, divisor > 0 {
                let quotient = number / divisor
                if abs(quotient - quotient.rounded()) > 1e-9 { return "\(path): not a multiple of \(divisor)" }
            }
        }
        if let text = value.string {
            let length = text.unicodeScalars.count
            if let limit = schema["minLength"]?.int, length < limit { return "\(path): shorter than \(limit)" }
            if let limit = schema["maxLength"]?.int, length > limit { return "\(path): longer than \(limit)" }
            if let pattern = schema["pattern"]?.string, !matches(pattern, text) {
                return "\(path): does not match the pattern"
            }
        }
        if let elements = value.array {
            if let limit = schema["minItems"]?.int, elements.count < limit {
                return "\(path): fewer than \(limit) items"
            }
            if let limit = schema["maxItems"]?.int, elements.count > limit {
                return "\(path): more than \(limit) items"
            }
            if schema["uniqueItems"]?.bool == true {
                for (index, element) in elements.enumerated()
                where elements[..<index].contains(where: { Self.equal($0, element) }) {
                    return "\(path)[\(index)]: a repeated item"
                }
            }
            let prefix = schema["prefixItems"]?.array ?? []
            for (index, element) in elements.enumerated() {
                let itemSchema = index < prefix.count ? prefix[index] : schema["items"]
                if let itemSchema, let failure = check(itemSchema, element, path: "\(path)[\(index)]", depth: depth + 1)
                {
                    return failure
                }
            }
            if let contains = schema["contains"],
                !elements.contains(where: { check(contains, $0, path: path, depth: depth + 1) == nil })
            {
                return "\(path): no item matches `contains`"
            }
        }
        if let object = value.object {
            for name in schema["required"]?.array ?? [] {
                if let name = name.string, object[name] == nil { return "\(path).\(name): required" }
            }
            if let limit = schema["minProperties"]?.int, object.members.count < limit {
                return "\(path): fewer than \(limit) properties"
            }
            if let limit = schema["maxProperties"]?.int, object.members.count > limit {
                return "\(path): more than \(limit) properties"
            }
            let properties = schema["properties"]?.object
            let patternProperties = schema["patternProperties"]?.object
            for member in object.members {
                let memberPath = "\(path).\(member.key)"
                var known = false
                if let propertySchema = properties?[member.key] {
                    known = true
                    if let failure = check(propertySchema, member.value, path: memberPath, depth: depth + 1) {
                        return failure
                    }
                }
                for pattern in patternProperties?.members ?? [] where matches(pattern.key, member.key) {
                    known = true
                    if let failure = check(pattern.value, member.value, path: memberPath, depth: depth + 1) {
                        return failure
                    }
                }
                if !known, let additional = schema["additionalProperties"] {
                    if case .bool(false) = additional { return "\(path): a property the schema does not allow" }
                    if let failure = check(additional, member.value, path: memberPath, depth: depth + 1) {
                        return failure
                    }
                }
            }
        }
        for sub in schema["allOf"]?.array ?? [] {
            if let failure = check(sub, value, path: path, depth: depth + 1) { return failure }
        }
        if let options = schema["anyOf"]?.array,
            !options.contains(where: { check($0, value, path: path, depth: depth + 1) == nil })
        {
            return "\(path): matches none of anyOf"
        }
        if let options = schema["oneOf"]?.array {
            let matching = options.filter { check($0, value, path: path, depth: depth + 1) == nil }.count
            if matching != 1 { return "\(path): matches \(matching) of oneOf, not exactly one" }
        }
        if let negated = schema["not"], check(negated, value, path: path, depth: depth + 1) == nil {
            return "\(path): matches `not`"
        }
        return nil
    }

    /// The JSON an answer's text holds: the whole text, or the one fenced block it is wrapped in
    /// (```json … ```), as models often write it.
    static func json(inAnswer text: String) -> JSONValue? {
        var body = Substring(text).trimmingCharacters(in: .whitespacesAndNewlines)[...]
        if body.hasPrefix("```"), body.hasSuffix("```"), body.count >= 6 {
            body = body.dropFirst(3).dropLast(3)
            if let newline = body.firstIndex(of: "\n") { body = body[body.index(after: newline)...] }
        }
        return try? JSONScanner.parse(Array(body.utf8))
    }
}
