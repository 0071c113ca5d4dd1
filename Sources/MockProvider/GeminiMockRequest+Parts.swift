import Foundation

/// Parts, function declarations and the function-calling config of a `GenerateContentRequest`.
extension GeminiMockRequest {
    struct PartTally {
        var texts: [String] = []
        var results: [String] = []
        var calls = 0
        var responses = 0
        var tokens = 0
    }

    mutating func parts(_ value: Any?, at path: String, role: String) throws(GeminiMockRejection) -> PartTally {
        let snake = Self.snakePath(path)
        guard let parts = value as? [[String: Any]], !parts.isEmpty else {
            throw .init("* GenerateContentRequest.\(snake).parts: contents.parts must not be empty.\n")
        }
        var tally = PartTally()
        for (index, rawPart) in parts.enumerated() {
            let partPath = "\(path).parts[\(index)]"
            let part = try Self.fields(
                rawPart, allowed: vertex ? Self.partFields.filter { $0 != "partMetadata" } : Self.partFields,
                at: partPath)
            let data = Self.dataFields.filter { part[$0] != nil }
            guard data.count == 1 else {
                throw .init(
                    "* GenerateContentRequest.\(Self.snakePath(partPath)).data: required oneof field 'data' must "
                        + "have one initialized field\n"
                )
            }
            switch data[0] {
            case "text":
                guard let text = part["text"] as? String else { throw Self.invalid(partPath + ".text", part["text"]) }
                tally.texts.append(text)
                tally.tokens += MockTokens.count(text)
            case "inlineData":
                guard let blob = part["inlineData"] as? [String: Any] else {
                    throw Self.invalid(partPath + ".inlineData", part["inlineData"])
                }
                let inline = try Self.fields(blob, allowed: ["mimeType", "data"], at: partPath + ".inlineData")
                guard let mimeType = inline["mimeType"] as? String, !mimeType.isEmpty else {
                    throw .init(
                        "* GenerateContentRequest.\(Self.snakePath(partPath)).inline_data.mime_type: "
                            + "mime_type is not specified\n")
                }
                guard let bytes = inline["data"] as? String, Data(base64Encoded: bytes) != nil else {
                    throw .init(
                        "Invalid value at '\(Self.snakePath(partPath)).inline_data.data' (TYPE_BYTES), "
                            + "Base64 decoding failed")
                }
                tally.tokens += 258
            case "functionCall":
                guard let call = part["functionCall"] as? [String: Any] else {
                    throw Self.invalid(partPath + ".functionCall", part["functionCall"])
                }
                let fields = try Self.fields(call, allowed: ["id", "name", "args"], at: partPath + ".functionCall")
                guard let name = fields["name"] as? String, !name.isEmpty else {
                    throw .init(
                        "* GenerateContentRequest.\(Self.snakePath(partPath)).function_call.name: "
                            + "Name cannot be empty.\n")
                }
                if let args = fields["args"], !(args is [String: Any]) {
                    throw Self.invalid(partPath + ".functionCall.args", args, type: "google.protobuf.Struct")
                }
                // Gemini 3: the first call of each model step must carry its signature back.
                if thoughtSignaturesRequired, role == "model", tally.calls == 0, part["thoughtSignature"] == nil {
                    throw .init(
                        "Function call is missing a thought_signature in functionCall parts. This is required for "
                            + "tools to work correctly, and missing thought_signature may lead to degraded model "
                            + "performance. Additional data, function call `default_api:\(name)` , position "
                            + "\(index + 1). Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures "
                            + "for more details."
                    )
                }
                tally.calls += 1
                tally.tokens += MockTokens.count(name) + 4
            case "functionResponse":
                guard let response = part["functionResponse"] as? [String: Any] else {
                    throw Self.invalid(partPath + ".functionResponse", part["functionResponse"])
                }
                let fields = try Self.fields(
                    // Vertex `/v1` has no `functionResponse.id` (it matches results by name).
                    response,
                    allowed: (vertex ? [] : ["id"]) + ["name", "response", "parts", "willContinue", "scheduling"],
                    at: partPath + ".functionResponse"
                )
                guard let name = fields["name"] as? String, !name.isEmpty else {
                    throw .init(
                        "* GenerateContentRequest.\(Self.snakePath(partPath)).function_response.name: "
                            + "Name cannot be empty.\n")
                }
                guard let object = fields["response"] as? [String: Any] else {
                    throw Self.invalid(
                        partPath + ".functionResponse.response", fields["response"], type: "google.protobuf.Struct")
                }
                let text = Self.resultText(object)
                tally.results.append(text)
                tally.responses += 1
                tally.tokens += MockTokens.count(text)
            default:
                break
            }
        }
        promptTokens += tally.tokens + 3
        return tally
    }

    /// `{"result":"18C"}` -> `18C`; any other object as compact JSON.
    static func resultText(_ object: [String: Any]) -> String {
        if object.count == 1, let text = object.values.first as? String { return text }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func invalid(_ path: String, _ value: Any?, type: String = "object") -> GeminiMockRejection {
        .init("Invalid value at '\(snakePath(path))' (\(type)), \(value.map { "\"\($0)\"" } ?? "null")")
    }

    static func functions(_ value: Any?) throws(GeminiMockRejection) -> [[String: Any]] {
        guard let value, !(value is NSNull) else { return [] }
        guard let tools = value as? [[String: Any]] else { throw invalid("tools", value, type: "list") }
        var declarations: [[String: Any]] = []
        for (index, rawTool) in tools.enumerated() {
            let tool = try fields(
                rawTool,
                allowed: [
                    "functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext",
                    "computerUse", "fileSearch", "googleMaps",
                ], at: "tools[\(index)]"
            )
            for (number, rawDeclaration) in (tool["functionDeclarations"] as? [[String: Any]] ?? []).enumerated() {
                let path = "tools[\(index)].functionDeclarations[\(number)]"
                let declaration = try fields(
                    rawDeclaration,
                    allowed: [
                        "name", "description", "parameters", "parametersJsonSchema", "response",
                        "responseJsonSchema", "behavior",
                    ], at: path
                )
                guard let name = declaration["name"] as? String, !name.isEmpty else {
                    throw .init("* GenerateContentRequest.\(snakePath(path)).name: Name cannot be empty.\n")
                }
                if let parameters = declaration["parameters"], !(parameters is [String: Any]) {
                    throw invalid(path + ".parameters", parameters, type: "Schema")
                }
                declarations.append(declaration)
            }
        }
        return declarations
    }

    static func chosenFunction(
        _ functions: [[String: Any]], config: Any?
    ) throws(GeminiMockRejection) -> (name: String, schema: [String: Any])? {
        var mode = "AUTO"
        var allowed: [String] = []
        if let config = config as? [String: Any] {
            let toolConfig = try fields(
                config, allowed: ["functionCallingConfig", "retrievalConfig"], at: "toolConfig")
            if let calling = toolConfig["functionCallingConfig"] as? [String: Any] {
                let callingConfig = try fields(
                    calling, allowed: ["mode", "allowedFunctionNames"], at: "toolConfig.functionCallingConfig")
                if let value = callingConfig["mode"] {
                    guard let text = value as? String,
                        ["AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"]
                            .contains(text)
                    else {
                        throw .init(
                            "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google."
                                + "ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"\(value)\""
                        )
                    }
                    mode = text
                }
                allowed = callingConfig["allowedFunctionNames"] as? [String] ?? []
                if !allowed.isEmpty, mode != "ANY", mode != "VALIDATED" {
                    throw .init(
                        "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
                            + "allowed_function_names is only allowed when mode is ANY or VALIDATED.\n"
                    )
                }
            }
        }
        if mode == "NONE" { return nil }
        let chosen =
            allowed.first.flatMap { name in functions.first { $0["name"] as? String == name } }
            ?? functions.first
        guard let chosen, let name = chosen["name"] as? String else { return nil }
        return (name, (chosen["parameters"] ?? chosen["parametersJsonSchema"]) as? [String: Any] ?? [:])
    }
}
