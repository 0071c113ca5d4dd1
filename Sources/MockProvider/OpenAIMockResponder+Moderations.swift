import Foundation
import NIOHTTP1

/// A deterministic safety classifier for tests of llmgw's `kind: classifier` guardrails:
///
/// - `POST /v1/moderations` for `omni-moderation-latest` and `text-moderation-latest` (the
///   default when `model` is absent, as the real API does), in the real answer's shape: `id`,
///   `model`, `results[]` with `flagged`, all 13 `categories`, their `category_scores` and
///   `category_applied_input_types`, one result per input;
/// - the chat model `llama-guard-mock`, whose answer is a Llama Guard verdict on the whole
///   conversation: `safe`, or `unsafe` and the categories on a second line.
///
/// A text is flagged when it contains, case-insensitively, a trigger phrase (`triggers`):
/// "ignore previous instructions" (Llama Guard S14, moderation `illicit`) or "how to build a bomb"
/// (S1; `violence`, `illicit`, `illicit/violent`).
extension OpenAIMockResponder {
    static let moderationModels = ["omni-moderation-latest", "text-moderation-latest"]
    static let guardModel = "llama-guard-mock"

    /// The moderation categories in the real API's order.
    static let moderationCategories = [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
        "violence/graphic",
    ]

    /// Trigger phrase (lower case), its Llama Guard code, its moderation categories.
    static let triggers: [(phrase: String, code: String, categories: [String])] = [
        ("how to build a bomb", "S1", ["violence", "illicit", "illicit/violent"]),
        ("ignore previous instructions", "S14", ["illicit"]),
    ]

    /// The triggers found in `text`.
    static func triggered(_ text: String) -> [(phrase: String, code: String, categories: [String])] {
        let lowered = text.lowercased()
        return triggers.filter { lowered.contains($0.phrase) }
    }

    /// `llama-guard-mock`'s answer to a conversation: `safe` or `unsafe\nS1,S14`.
    static func guardVerdict(_ messages: [[String: Any]]) -> String {
        let text = messages.map { OpenAIMockChatAnswer.text(of: $0["content"]) }.joined(separator: "\n")
        let codes = triggered(text).map(\.code).sorted { Int($0.dropFirst()) ?? 0 < Int($1.dropFirst()) ?? 0 }
        return codes.isEmpty ? "safe" : "unsafe\n" + codes.joined(separator: ",")
    }

    func moderations(_ request: MockRequest) -> MockResponderResult {
        let body: [String: Any]
        switch jsonObject(request) {
        case .success(let object): body = object
        case .failure(let failure): return .reply(failure.reply)
        }
        let rawModel = body["model"] as? String ?? "omni-moderation-latest"
        let (model, faults) = Self.splitModel(rawModel)
        guard Self.moderationModels.contains(model) else {
            return .reply(
                error(
                    status: .notFound, message: "The model `\(model)` does not exist or you do not have access to it.",
                    code: "model_not_found"))
        }
        guard let inputs = Self.moderationInputs(body["input"]) else {
            return .reply(
                error(
                    status: .badRequest,
                    message: "'$.input' is invalid. Please check the API reference: "
                        + "https://platform.openai.com/docs/api-reference.", param: "input"))
        }
        var out = #"{"id":"# + MockJSON.quoted(ids.make(prefix: "modr-", length: 32, alphabet: .hex))
        out += #","model":"# + MockJSON.quoted(model) + #","results":["#
        for (index, input) in inputs.enumerated() {
            let flaggedCategories = Set(Self.triggered(input).flatMap(\.categories))
            out += index == 0 ? "{" : ",{"
            out += #""flagged":\#(flaggedCategories.isEmpty ? "false" : "true"),"categories":{"#
            out += Self.moderationCategories.map { MockJSON.quoted($0) + ":\(flaggedCategories.contains($0))" }
                .joined(separator: ",")
            out += #"},"category_scores":{"#
            out += Self.moderationCategories.map {
                MockJSON.quoted($0) + ":" + (flaggedCategories.contains($0) ? "0.9874" : "0.0001")
            }.joined(separator: ",")
            out += #"},"category_applied_input_types":{"#
            out += Self.moderationCategories.map { MockJSON.quoted($0) + #":["text"]"# }.joined(separator: ",")
            out += "}}"
        }
        out += "]}"
        return .answer(json(out), model: model, faultSuffix: faults)
    }

    /// A string, strings, or multi-modal parts (`{"type":"text","text":…}`; image parts have no
    /// text to flag here); nil when missing or empty.
    static func moderationInputs(_ input: Any?) -> [String]? {
        if let text = input as? String { return [text] }
        if let texts = input as? [String] { return texts.isEmpty ? nil : texts }
        if let parts = input as? [[String: Any]], !parts.isEmpty {
            // Multi-modal input is classified as one.
            return [
                parts.compactMap { $0["type"] as? String == "text" ? $0["text"] as? String : nil }.joined(
                    separator: "\n")
            ]
        }
        return nil
    }
}
