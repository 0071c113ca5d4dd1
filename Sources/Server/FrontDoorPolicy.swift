import GatewayCore
import NIOHTTP1

/// What a request head must satisfy before the pipeline sees it, so that a web page in a browser on
/// the same host cannot use the gateway (its provider keys) through the loopback TCP listener:
///
/// - `POST /v1/…` must say `content-type: application/json` (any listener): a page can send a
///   `text/plain` or type-less body without a CORS preflight, never an `application/json` one.
/// - On TCP, a request with an `Origin` header (a browser's cross-origin fetch or form) is refused
///   unless the origin is listed in `listen.allowed_origins`.
/// - On TCP, `Host` must name a loopback host (`localhost`, `127.x.x.x`, `[::1]`, or the listener's
///   own host): a DNS-rebinding page talks to 127.0.0.1 under its own domain name.
///
/// The Unix socket is not reachable from a browser; only the content type is checked there.
struct FrontDoorPolicy: Sendable {
    /// Lower-cased origins allowed on TCP.
    let allowedOrigins: Set<String>
    /// The TCP listener's own host (lower-cased), accepted in `Host` besides the loopback names.
    let listenerHost: String?

    init(configuration: ListenConfiguration) {
        allowedOrigins = Set(configuration.allowedOrigins.map { $0.lowercased() })
        listenerHost = configuration.tcp?.host.lowercased()
    }

    func refusal(for head: HTTPRequestHead, overTCP: Bool) -> GatewayError? {
        if overTCP {
            if let origin = head.headers.first(name: "origin"), !allowedOrigins.contains(origin.lowercased()) {
                return GatewayError(
                    .forbidden,
                    "Requests from web pages are not accepted (Origin: \(Self.printable(origin))); "
                        + "list the origin in listen.allowed_origins to allow it."
                )
            }
            if let host = head.headers.first(name: "host"), !isLoopbackHost(host) {
                return GatewayError(
                    .forbidden, "The Host header must name this machine's loopback address (localhost, 127.0.0.1).")
            }
        }
        if head.method == .POST, head.uri.hasPrefix("/v1/"), !Self.isJSON(head.headers.first(name: "content-type")) {
            return GatewayError(
                .unsupportedMediaType, "Request bodies must be sent with 'content-type: application/json'.")
        }
        return nil
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        if contentType == "application/json" { return true }  // nearly every request: skip the parsing
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingSpaces().lowercased() == "application/json"
    }

    /// `localhost`, `*.localhost`, an IPv4 address in 127.0.0.0/8, `[::1]` or the listener's host;
    /// with or without a port.
    func isLoopbackHost(_ value: String) -> Bool {
        let authority = value.trimmingSpaces().lowercased()
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else {
            host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        if let listenerHost, host == listenerHost[...] { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// At most 100 printable ASCII characters of a client's header, for an error message.
    private static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(100).filter { $0.value >= 0x20 && $0.value < 0x7F }))
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> Substring {
        var slice = self[...]
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return Substring(slice)
    }
}
