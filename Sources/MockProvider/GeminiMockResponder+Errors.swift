/// Gemini's `google.rpc.Status` errors for injected faults and the in-stream error event.
extension GeminiMockResponder {
    func invalidRequest(message: String) -> MockReply {
        status(400, "INVALID_ARGUMENT", message)
    }

    func injectedError(status code: Int, retryAfterSeconds: Int?, model: String?) -> MockReply {
        let model = model ?? "gemini-2.5-flash"
        switch code {
        case 400: return status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        case 401:
            return status(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        case 403: return status(403, "PERMISSION_DENIED", "The caller does not have permission")
        case 404: return modelNotFound(model, method: "generateContent")
        case 429:
            let delay = retryAfterSeconds ?? 1
            return status(
                429, "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details. For more information "
                    + "on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in "
                    + "\(delay)s.",
                details: [
                    #"{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"#
                        + #""generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"#
                        + #""GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"#
                        + #""location":"global","model":"# + MockJSON.quoted(model) + "}}]}",
                    #"{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"#
                        + #""Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]}"#,
                    #"{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"\#(delay)s"}"#,
                ]
            )
        case 500:
            return status(
                500, "INTERNAL",
                "An internal error has occurred. Please retry or report in "
                    + "https://developers.generativeai.google/guide/troubleshooting"
            )
        case 503: return status(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        case 504: return status(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
        case 500...599: return status(code, "INTERNAL", "Internal error (injected by llmgw-mock).")
        default: return status(code, "FAILED_PRECONDITION", "Request failed (injected by llmgw-mock).")
        }
    }

    /// `data: {"error":{…}}` and a blank line: the SSE shape seen mid-stream.
    func streamErrorEvent() -> String {
        "data: " + Self.statusBody(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
            + lineEnding + lineEnding
    }
}

/// Google's JSON layout for non-stream and error bodies: two-space indent, `"key": value`, a final newline.
enum GeminiMockJSON {
    /// Reformats compact JSON (as the mock renders it) without reordering anything.
    static func pretty(_ compact: String) -> String {
        var out = ""
        out.reserveCapacity(compact.utf8.count * 2)
        var depth = 0
        var inString = false
        var escaped = false
        let scalars = Array(compact.unicodeScalars)
        func newline() {
            out.append("\n")
            out.append(String(repeating: "  ", count: depth))
        }
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            defer { index += 1 }
            if inString {
                out.unicodeScalars.append(scalar)
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == "\"" {
                    inString = false
                }
                continue
            }
            switch scalar {
            case "\"":
                inString = true
                out.append("\"")
            case "{", "[":
                let closing: Unicode.Scalar = scalar == "{" ? "}" : "]"
                if index + 1 < scalars.count, scalars[index + 1] == closing {
                    out.unicodeScalars.append(scalar)
                    out.unicodeScalars.append(closing)
                    index += 1
                } else {
                    out.unicodeScalars.append(scalar)
                    depth += 1
                    newline()
                }
            case "}", "]":
                depth -= 1
                newline()
                out.unicodeScalars.append(scalar)
            case ",":
                out.append(",")
                newline()
            case ":":
                out.append(": ")
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\n"
    }
}
