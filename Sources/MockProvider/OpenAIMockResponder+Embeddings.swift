import Foundation
import NIOHTTP1

/// `POST /v1/embeddings` (deterministic unit vectors from a hash of each input) and `GET /v1/models`.
extension OpenAIMockResponder {
    static let models = [
        "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o4-mini", "text-embedding-3-small",
        "text-embedding-3-large",
    ]

    func embeddings(_ request: MockRequest) -> MockResponderResult {
        let body: [String: Any]
        switch jsonObject(request) {
        case .success(let object): body = object
        case .failure(let failure): return .reply(failure.reply)
        }
        guard let rawModel = body["model"] as? String, !rawModel.isEmpty else {
            return .reply(error(status: .badRequest, message: "you must provide a model parameter"))
        }
        guard let inputs = Self.embeddingInputs(body["input"]) else {
            return .reply(
                error(
                    status: .badRequest,
                    message: "'$.input' is invalid. Please check the API reference: "
                        + "https://platform.openai.com/docs/api-reference.", param: "input"
                )
            )
        }
        let dimensions = body["dimensions"] as? Int ?? 8
        guard (1...4096).contains(dimensions) else {
            return .reply(
                error(status: .badRequest, message: "Invalid value for 'dimensions'.", param: "dimensions")
            )
        }
        let base64 = body["encoding_format"] as? String == "base64"
        let (model, faults) = Self.splitModel(rawModel)
        var out = #"{"object":"list","data":["#
        var tokens = 0
        for (index, input) in inputs.enumerated() {
            tokens += max(1, MockTokens.count(input))
            let vector = Self.vector(for: input, dimensions: dimensions)
            out += index == 0 ? "" : ","
            out += #"{"object":"embedding","index":\#(index),"embedding":"#
            if base64 {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(dimensions * 4)
                for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
                out += "\"" + Data(bytes).base64EncodedString() + "\""
            } else {
                out += "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
            }
            out += "}"
        }
        out += #"],"model":"# + MockJSON.quoted(model)
        out += #","usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
        return .answer(json(out), model: model, faultSuffix: faults)
    }

    /// A string, strings, token ids or arrays of token ids; nil when missing, empty or malformed.
    static func embeddingInputs(_ input: Any?) -> [String]? {
        if let text = input as? String { return text.isEmpty ? nil : [text] }
        if let texts = input as? [String] {
            return texts.isEmpty || texts.contains(where: \.isEmpty) || texts.count > 2048 ? nil : texts
        }
        if let tokens = input as? [Int] {
            return tokens.isEmpty ? nil : [tokens.map(String.init).joined(separator: " ")]
        }
        if let arrays = input as? [[Int]], !arrays.isEmpty, !arrays.contains(where: \.isEmpty) {
            return arrays.map { $0.map(String.init).joined(separator: " ") }
        }
        return nil
    }

    /// A unit vector seeded by FNV-1a of the text: equal inputs give equal vectors, across runs too.
    static func vector(for text: String, dimensions: Int) -> [Float] {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var generator = SplitMix64(seed: hash)
        var values = (0..<dimensions).map { _ in Float(generator.nextUnitInterval() * 2 - 1) }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { values = values.map { $0 / norm } }
        return values
    }

    func modelList() -> MockReply {
        let entries = Self.models.map(Self.modelObject).joined(separator: ",")
        return json(#"{"object":"list","data":["# + entries + "]}")
    }

    func model(id: String) -> MockResponderResult {
        let (model, faults) = Self.splitModel(id.removingPercentEncoding ?? id)
        guard Self.models.contains(model) else {
            return .reply(
                error(
                    status: .notFound,
                    message: "The model `\(model)` does not exist or you do not have access to it.",
                    code: "model_not_found"
                )
            )
        }
        return .answer(json(Self.modelObject(model)), model: model, faultSuffix: faults)
    }

    static func modelObject(_ id: String) -> String {
        #"{"id":"# + MockJSON.quoted(id) + #","object":"model","created":1715367049,"owned_by":"system"}"#
    }
}
