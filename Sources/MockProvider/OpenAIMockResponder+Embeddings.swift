import Foundation
import NIOHTTP1

/// `POST /v1/embeddings` and `GET /v1/models`. Embeddings are deterministic unit vectors: for
/// `text-embedding-bow` (`bagOfWords`) a hashed bag of words, so texts sharing most words are
/// similar; for every other model one seeded by a hash of the whole text (equal or unrelated).
extension OpenAIMockResponder {
    static let models = [
        "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o4-mini", "text-embedding-3-small",
        "text-embedding-3-large", "text-embedding-bow", "llama-guard-mock", "omni-moderation-latest",
        "text-moderation-latest",
    ]

    /// The model whose embeddings are a hashed bag of words (`bagOfWords`).
    static let bagOfWordsModel = "text-embedding-bow"

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
        let (model, faults) = Self.splitModel(rawModel)
        let bagOfWords = model == Self.bagOfWordsModel
        let dimensions = body["dimensions"] as? Int ?? (bagOfWords ? Self.bagOfWordsDimensions : 8)
        guard (1...4096).contains(dimensions) else {
            return .reply(
                error(status: .badRequest, message: "Invalid value for 'dimensions'.", param: "dimensions")
            )
        }
        let base64 = body["encoding_format"] as? String == "base64"
        var out = #"{"object":"list","data":["#
        var tokens = 0
        for (index, input) in inputs.enumerated() {
            tokens += max(1, MockTokens.count(input))
            let vector =
                bagOfWords
                ? Self.bagOfWords(input, dimensions: dimensions) : Self.vector(for: input, dimensions: dimensions)
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

    static let bagOfWordsDimensions = 256

    /// The documented test embedding: the text lower-cased and split into words (runs of letters
    /// and digits), each word hashed (FNV-1a 64) to one of `dimensions` slots and counted, then
    /// L2-normalized. The cosine similarity of two texts is then the overlap of their word counts:
    /// "what is the capital of france" and "what is the capital city of france" score 0.93;
    /// texts with no word in common score 0 (up to slot collisions). A text without words is the
    /// unit vector of slot 0.
    static func bagOfWords(_ text: String, dimensions: Int) -> [Float] {
        var counts = [Float](repeating: 0, count: dimensions)
        var word: [UInt8] = []
        func flush() {
            guard !word.isEmpty else { return }
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in word { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            counts[Int(hash % UInt64(dimensions))] += 1
            word.removeAll(keepingCapacity: true)
        }
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                word.append(contentsOf: Array(String(scalar).utf8))
            } else {
                flush()
            }
        }
        flush()
        let norm = counts.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return (0..<dimensions).map { $0 == 0 ? 1 : 0 } }
        return counts.map { $0 / norm }
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
