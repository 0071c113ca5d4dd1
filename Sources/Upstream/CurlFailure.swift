import CCurl
import GatewayCore

/// Maps libcurl's result codes to `UpstreamFailure`. Details carry curl's generic text for the
/// code (never a header, a body or the URL, which may hold a key).
enum CurlFailure {
    /// - Parameter connected: whether a connection was established (or reused) for the transfer,
    ///   which tells a connect timeout from a total one.
    static func failure(for code: CURLcode, connected: Bool) -> UpstreamFailure {
        UpstreamFailure(kind(for: code, connected: connected), describe(code))
    }

    static func kind(for code: CURLcode, connected: Bool) -> UpstreamFailure.Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .dns
        case CURLE_COULDNT_CONNECT:
            return .connect
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED,
            CURLE_SSL_CLIENTCERT:
            return .tls
        case CURLE_OPERATION_TIMEDOUT:
            // Only the connect and total timeouts are curl's; first-byte and idle are the loop's.
            return connected ? .totalTimeout : .connectTimeout
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            return .reset
        default:
            return .other
        }
    }

    static func describe(_ code: CURLcode) -> String {
        "\(String(cString: curl_easy_strerror(code))) (curl code \(code.rawValue))"
    }

    static func describe(_ code: CURLMcode) -> String {
        "\(String(cString: curl_multi_strerror(code))) (curl multi code \(code.rawValue))"
    }
}
