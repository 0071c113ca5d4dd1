import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The OpenAI dialect: `POST /v1/chat/completions`, `POST /v1/responses`, `POST /v1/embeddings`,
/// `POST /v1/moderations`, `GET /v1/models[/{id}]`,
/// rendered as in `docs/wire/openai.md` (compact JSON, the real API's error bodies and headers).
struct OpenAIMockResponder: MockDialectResponder {
    /// The only key accepted when set.
    let expectedKey: String?
    let ids = MockIDGenerator()
    /// Responses made with `store` on (`previous_response_id`).
    let responsesMade = MockResponseRegistry()

    static let systemFingerprint = "fp_6d7a3c1e52"
    static let organization = "org-llmgw-mock"

    func authenticate(_ request: MockRequest) -> MockReply? {
        let authorization = request.head.headers.first(name: "authorization") ?? ""
        let key: Substring
        if authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " {
            key = authorization.dropFirst(7)
        } else {
            key = ""
        }
        if key.isEmpty {
            return error(
                status: .unauthorized,
                message: "You didn't provide an API key. You need to provide your API key in an Authorization header "
                    + "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
                    + "username) if you're accessing the API from your browser and are prompted for a username and "
                    + "password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
                code: "invalid_api_key"
            )
        }
        if let expectedKey, key != expectedKey {
            return error(
                status: .unauthorized,
                message: "Incorrect API key provided: \(Self.masked(key)). You can find your API key at "
                    + "https://platform.openai.com/account/api-keys.",
                code: "invalid_api_key"
            )
        }
        return nil
    }

    func respond(to request: MockRequest) -> MockResponderResult {
        let path = request.path
        switch (request.method, path) {
        case (.POST, "/v1/chat/completions"): return chatCompletion(request)
        case (.POST, "/v1/embeddings"): return embeddings(request)
        case (.POST, "/v1/responses"): return responses(request)
        case (.POST, "/v1/completions"): return completion(request)
        case (.POST, "/v1/moderations"): return moderations(request)
        case (.GET, "/v1/models"): return .answer(modelList(), model: nil, faultSuffix: nil)
        case (.GET, _) where path.hasPrefix("/v1/models/"):
            return model(id: String(path.dropFirst("/v1/models/".count)))
        default:
            return .reply(error(status: .notFound, message: "Invalid URL (\(request.method.rawValue) \(path))"))
        }
    }

    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int) {
        headers.add(name: "openai-processing-ms", value: String(processingMilliseconds))
    }

    /// A 200 JSON reply with the real API's headers.
    func json(_ body: String, status: HTTPResponseStatus = .ok) -> MockReply {
        MockReply(status: status, headers: headers(contentType: "application/json"), body: .full(body))
    }

    func headers(contentType: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(12)
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "x-request-id", value: ids.make(prefix: "req_", length: 32, alphabet: .hex))
        headers.add(name: "openai-organization", value: Self.organization)
        headers.add(name: "openai-version", value: "2020-10-01")
        headers.add(name: "x-ratelimit-limit-requests", value: "10000")
        headers.add(name: "x-ratelimit-limit-tokens", value: "30000000")
        headers.add(name: "x-ratelimit-remaining-requests", value: "9999")
        headers.add(name: "x-ratelimit-remaining-tokens", value: "29999986")
        headers.add(name: "x-ratelimit-reset-requests", value: "6ms")
        headers.add(name: "x-ratelimit-reset-tokens", value: "0s")
        return headers
    }

    /// The request body as a JSON object, or the real API's 400 for anything else.
    func jsonObject(_ request: MockRequest) -> Result<[String: Any], MockReplyError> {
        let data = Data(request.body.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return .failure(
                MockReplyError(
                    reply: error(
                        status: .badRequest,
                        message: "We could not parse the JSON body of your request. (HINT: This likely means you "
                            + "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but "
                            + "what was sent was not valid JSON. If you have trouble figuring out how to fix this, "
                            + "please contact us through our help center at help.openai.com.)"
                    )
                )
            )
        }
        return .success(object)
    }

    /// Splits `gpt-4o#status=503` into the model to echo and the fault suffix.
    static func splitModel(_ model: String) -> (model: String, faults: String?) {
        guard let hash = model.firstIndex(of: "#") else { return (model, nil) }
        return (String(model[..<hash]), String(model[model.index(after: hash)...]))
    }

    /// `sk-abcdef…wxyz` -> `sk-ab***…wxyz`: never the whole key.
    static func masked(_ key: Substring) -> String {
        let keep = key.count >= 12 ? 4 : min(2, key.count / 3)
        let stars = String(repeating: "*", count: max(3, key.count - 2 * keep))
        return String(key.prefix(keep)) + stars + String(key.suffix(keep))
    }
}

/// A rendered error reply carried through `Result`.
struct MockReplyError: Error {
    var reply: MockReply
}

/// Random-looking ids without a system call per id: a counter seeded once, mixed by SplitMix64.
final class MockIDGenerator: Sendable {
    enum Alphabet {
        case hex, alphanumeric

        var characters: [Character] {
            switch self {
            case .hex: Array("0123456789abcdef")
            case .alphanumeric: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
            }
        }
    }

    private let counter = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))
    private static let hexCharacters = Alphabet.hex.characters
    private static let alphanumericCharacters = Alphabet.alphanumeric.characters

    func make(prefix: String, length: Int, alphabet: Alphabet) -> String {
        let characters = alphabet == .hex ? Self.hexCharacters : Self.alphanumericCharacters
        var generator = SplitMix64(seed: counter.wrappingAdd(1, ordering: .relaxed).newValue)
        var id = prefix
        id.reserveCapacity(prefix.utf8.count + length)
        var bits = generator.next()
        for index in 0..<length {
            if index % 8 == 7 { bits = generator.next() }
            id.append(characters[Int(bits & 0xFF) % characters.count])
            bits >>= 8
        }
        return id
    }
}
