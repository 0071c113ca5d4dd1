import GatewayCore

/// Vertex AI URLs and authentication (docs/wire/vertex.md §1, §7): one resource path for every
/// publisher, a method after a literal `:`, and either an OAuth2 bearer token or, in express mode,
/// an API key in `x-goog-api-key`.
public enum VertexEndpoint {
    /// `{base_url}/{version}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}`;
    /// in express mode (an API key) `{base_url}/{version}/publishers/{publisher}/models/{model}:{method}`.
    /// `method` may carry a query (`streamGenerateContent?alt=sse`).
    public static func url(
        baseURL: String, vertex: VertexConfiguration, publisher: VertexConfiguration.Publisher, model: String,
        method: String
    ) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var path = "/" + vertex.apiVersion
        if let project = vertex.project, vertex.credentials != .apiKey {
            path += "/projects/" + URLPath.segment(project) + "/locations/" + URLPath.segment(vertex.location)
        }
        path += "/publishers/" + publisher.rawValue + "/models/" + modelSegment(model) + ":" + method
        return base + path
    }

    /// A model id as a path segment: `@` (Claude's version separator) stays literal, as the SDKs
    /// send it; everything but RFC 3986 unreserved characters is percent-encoded.
    static func modelSegment(_ model: String) -> String {
        model.split(separator: "@", omittingEmptySubsequences: false).map { URLPath.segment(String($0)) }
            .joined(separator: "@")
    }

    /// Claude's Vertex model id: a trailing `-YYYYMMDD` date becomes `@YYYYMMDD`
    /// (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5@20250929`); ids already with `@`, or
    /// without a date (`claude-opus-4-6`), are kept.
    public static func claudeModelID(_ model: String) -> String {
        guard !model.contains("@"), let dash = model.lastIndex(of: "-") else { return model }
        let date = model[model.index(after: dash)...]
        guard date.count == 8, date.allSatisfy({ $0.isASCII && $0.isNumber }), date.hasPrefix("20") else {
            return model
        }
        return String(model[..<dash]) + "@" + String(date)
    }

    /// The credential header: `x-goog-api-key` in express mode, else `Authorization: Bearer`.
    static func authHeader(_ vertex: VertexConfiguration, secret: String?) -> (name: String, value: String)? {
        guard let secret, !secret.isEmpty else { return nil }
        return vertex.credentials == .apiKey
            ? (name: "x-goog-api-key", value: secret) : (name: "authorization", value: "Bearer " + secret)
    }

    /// The provider's Vertex settings; a `kind: vertex` provider always has them (the loader
    /// builds them), so their absence is a programming error.
    static func settings(_ provider: ProviderConfiguration) -> VertexConfiguration {
        guard let vertex = provider.vertex else {
            preconditionFailure("provider \(provider.name) of kind vertex has no vertex settings")
        }
        return vertex
    }
}
