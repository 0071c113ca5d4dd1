import Foundation

extension ConfigurationLoader {
    /// The top-level `guardrails:` list.
    static func guardrails(_ root: ConfigReader) -> [GuardrailConfiguration] {
        var guardrails: [GuardrailConfiguration] = []
        var seen = Set<String>()
        _ = root.list("guardrails") { _, item in
            item.mapping { entry in
                entry.expectOnly(["name", "kind", "on", "action", "failure", "entities", "patterns"] + classifierKeys)
                entry.require("name", "kind")
                guard let name = entry.string("name"),
                    let kind = entry.choice("kind", as: GuardrailConfiguration.Kind.self)
                else { return }
                if !seen.insert(name).inserted {
                    entry.child("name")?.fail("duplicate guardrail name \"\(name)\"")
                    return
                }
                var guardrail = GuardrailConfiguration(name: name, kind: kind)
                guardrail.on = entry.choice("on", as: GuardrailConfiguration.Side.self) ?? guardrail.on
                if guardrail.on != .request {
                    // Refused rather than silently ignored: the answer side is not enforced yet.
                    entry.child("on")?.fail("only on: request is enforced in this version (docs/guardrails.md)")
                }
                guardrail.action = entry.choice("action", as: GuardrailConfiguration.Action.self) ?? guardrail.action
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
