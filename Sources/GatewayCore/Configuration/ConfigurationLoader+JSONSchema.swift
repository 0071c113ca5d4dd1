import Yams

/// The JSON Schema keywords a `kind: json_schema` guardrail understands (docs/guardrails.md): a
/// schema using any other is refused at load, so no constraint is silently ignored.
public enum JSONSchemaKeywords {
    /// Keywords whose value is one subschema.
    public static let subschema: Set<String> = ["items", "additionalProperties", "not", "contains"]
    /// Keywords whose value maps names to subschemas.
    public static let subschemaMaps: Set<String> = ["properties", "$defs", "definitions", "patternProperties"]
    /// Keywords whose value is a list of subschemas.
    public static let subschemaLists: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    /// Assertions on the value itself.
    public static let assertions: Set<String> = [
        "type", "enum", "const", "required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "minProperties",
        "maxProperties", "$ref",
    ]
    /// Annotations, accepted and not checked (`format` is an annotation in draft 2020-12).
    public static let annotations: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "default", "examples", "format", "deprecated",
        "readOnly", "writeOnly",
    ]

    public static var all: Set<String> {
        subschema.union(subschemaMaps).union(subschemaLists).union(assertions).union(annotations)
    }
}

extension ConfigurationLoader {
    /// `schema:` of a `kind: json_schema` guardrail as JSON text, its keywords checked.
    static func jsonSchema(_ reader: ConfigReader) -> [UInt8]? {
        guard reader.node.mapping != nil else {
            reader.fail("a JSON Schema must be a mapping (YAML or JSON flow style)")
            return nil
        }
        let failures = reader.diagnostics.errors.count
        checkSchemaKeywords(reader)
        guard reader.diagnostics.errors.count == failures else { return nil }
        var json = JSONWriter()
        writeJSON(reader.node, into: &json)
        return json.bytes
    }

    private static func checkSchemaKeywords(_ reader: ConfigReader) {
        if case .scalar = reader.node, reader.node.bool != nil { return }  // `true` / `false` schemas
        guard reader.node.mapping != nil else {
            reader.fail("expected a JSON Schema (a mapping, or true or false)")
            return
        }
        for (key, _, value) in reader.entries {
            if JSONSchemaKeywords.subschema.contains(key) {
                checkSchemaKeywords(value)
            } else if JSONSchemaKeywords.subschemaMaps.contains(key) {
                for (_, _, schema) in value.entries { checkSchemaKeywords(schema) }
            } else if JSONSchemaKeywords.subschemaLists.contains(key) {
                _ = reader.list(key) { _, schema in checkSchemaKeywords(schema) }
            } else if !JSONSchemaKeywords.all.contains(key) {
                value.fail(
                    "unsupported JSON Schema keyword (supported: "
                        + JSONSchemaKeywords.all.subtracting(JSONSchemaKeywords.annotations).sorted().joined(
                            separator: ", ") + ")")
            }
        }
    }

    /// A YAML node as JSON: plain scalars typed as YAML 1.2 core resolves them, quoted ones strings.
    private static func writeJSON(_ node: Node, into json: inout JSONWriter) {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                    json.null()
                    return
                }
                if let flag = node.bool {
                    json.bool(flag)
                    return
                }
                if let integer = Int(scalar.string) {
                    json.raw(String(integer).utf8)
                    return
                }
                if let number = Double(scalar.string), number.isFinite {
                    json.raw(String(number).utf8)
                    return
                }
            }
            json.string(scalar.string)
        case .mapping(let mapping):
            json.object { json in
                for (key, value) in mapping {
                    json.key(key.scalar?.string ?? "")
                    writeJSON(value, into: &json)
                }
            }
        case .sequence(let sequence):
            json.array { json in
                for element in sequence { writeJSON(element, into: &json) }
            }
        case .alias:
            json.null()
        }
    }
}
