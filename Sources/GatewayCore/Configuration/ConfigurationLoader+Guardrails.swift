import Foundation

extension ConfigurationLoader {
    /// The top-level `guardrails:` list.
    static func guardrails(_ root: ConfigReader) -> [GuardrailConfiguration] {
        var guardrails: [GuardrailConfiguration] = []
        var seen = Set<String>()
        _ = root.list("guardrails") { _, item in
            item.mapping { entry in
                entry.expectOnly(
                    ["name", "kind", "on", "action", "failure", "entities", "patterns", "restore", "schema"]
                        + classifierKeys)
                entry.require("name", "kind")
                guard let name = entry.string("name"),
                    let kind = entry.choice("kind", as: GuardrailConfiguration.Kind.self)
                else { return }
                if !seen.insert(name).inserted {
                    entry.child("name")?.fail("duplicate guardrail name \"\(name)\"")
                    return
                }
                var guardrail = GuardrailConfiguration(name: name, kind: kind)
                if kind == .jsonSchema { (guardrail.on, guardrail.action) = (.response, .reject) }
                guardrail.on = entry.choice("on", as: GuardrailConfiguration.Side.self) ?? guardrail.on
                guardrail.action = entry.choice("action", as: GuardrailConfiguration.Action.self) ?? guardrail.action
                if let restore = entry.bool("restore") {
                    if restore && (guardrail.action != .mask || !guardrail.on.coversRequest) {
                        entry.child("restore")?.fail(
                            "restore: true needs action: mask on the request (on: request or both)")
                    }
                    guardrail.restore = restore
                }
                guardrail.failure =
                    entry.choice("failure", as: GuardrailConfiguration.Failure.self) ?? guardrail.failure
                classifier(entry, into: &guardrail)
                if entry.child("entities") != nil {
                    if kind != .pii { entry.child("entities")?.fail("only a kind: pii guardrail takes entities") }
                    var entities: [GuardrailConfiguration.Entity] = []
                    _ = entry.list("entities") { _, item in
                        guard let text = item.scalarText(expected: "an entity type") else { return }
                        if let entity = GuardrailConfiguration.Entity(rawValue: text) {
                            if !entities.contains(entity) { entities.append(entity) }
                        } else {
                            let names = GuardrailConfiguration.Entity.allCases.map(\.rawValue).joined(separator: ", ")
                            item.fail("unknown entity type \"\(text)\" (expected one of: \(names))")
                        }
                    }
                    guardrail.entities = entities.sorted()
                }
                if kind == .regex {
                    entry.require("patterns")
                    _ = entry.list("patterns") { _, item in
                        item.mapping { pattern in
                            pattern.expectOnly(["label", "regex"])
                            pattern.require("label", "regex")
                            guard let label = pattern.string("label"), let regex = pattern.string("regex") else {
                                return
                            }
                            if (try? NSRegularExpression(pattern: regex)) == nil {
                                pattern.child("regex")?.fail("not a valid regular expression")
                            } else {
                                guardrail.patterns.append(.init(label: label, regex: regex))
                            }
                        }
                    }
                } else if entry.child("patterns") != nil {
                    entry.child("patterns")?.fail("only a kind: regex guardrail takes patterns")
                }
                if kind == .jsonSchema {
                    entry.require("schema")
                    if let schema = entry.child("schema") { guardrail.schema = jsonSchema(schema) }
                    if guardrail.on != .response {
                        entry.fail("a kind: json_schema guardrail checks answers: it takes on: response")
                    }
                    if guardrail.action == .mask {
                        entry.fail(
                            "a kind: json_schema guardrail takes action: reject or log (there is nothing to mask)")
                    }
                } else if entry.child("schema") != nil {
                    entry.child("schema")?.fail("only a kind: json_schema guardrail takes a schema")
                }
                guardrails.append(guardrail)
            }
        }
        return guardrails
    }

    /// A model's `guardrails: [name, ...]`, each naming an entry of the top-level list.
    static func guardrailNames(_ model: ConfigReader, declared: Set<String>) -> [String] {
        var names: [String] = []
        _ = model.list("guardrails") { _, item in
            guard let text = item.scalarText(expected: "a guardrail name") else { return }
            if !declared.contains(text) {
                item.fail("unknown guardrail \"\(text)\"")
            } else if !names.contains(text) {
                names.append(text)
            }
        }
        return names
    }

    /// Every guardrail name declared in the file, so models may name them wherever they stand.
    static func declaredGuardrailNames(_ root: ConfigReader) -> Set<String> {
        var declared = Set<String>()
        if case .sequence(let items)? = root.child("guardrails")?.node {
            for item in items { if let name = item.mapping?["name"]?.string { declared.insert(name) } }
        }
        return declared
    }
}
