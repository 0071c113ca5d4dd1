import Crypto
import Foundation
import NIOHTTP1

/// Verifies an AWS SigV4 `Authorization` header the way AWS does, from the request as received
/// (docs/wire/bedrock.md §7): parse `Credential`, `SignedHeaders` and `Signature`; check the key
/// id, the scope (date, region, service `bedrock`), the `x-amz-date` skew, the session token; then
/// rebuild the canonical request — the received path with each segment encoded again, the sorted
/// query, the signed headers' values — and compare the signature. Failures are AWS's 403s.
struct BedrockMockSigV4 {
    let credentials: MockAWSCredentials
    /// AWS refuses signatures more than five minutes from its clock.
    static let allowedSkew: TimeInterval = 300

    enum Rejection: Equatable {
        case missing
        case incomplete(String)
        case unknownKey
        case badToken
        case badScope(String)
        case expired(String)
        case mismatch

        /// (`x-amzn-errortype`, message) as AWS answers.
        var error: (type: String, message: String) {
            switch self {
            case .missing: ("MissingAuthenticationTokenException", "Missing Authentication Token")
            case .incomplete(let detail): ("IncompleteSignatureException", detail)
            case .unknownKey: ("UnrecognizedClientException", "The security token included in the request is invalid.")
            case .badToken: ("UnrecognizedClientException", "The security token included in the request is invalid.")
            case .badScope(let detail): ("InvalidSignatureException", detail)
            case .expired(let detail): ("InvalidSignatureException", detail)
            case .mismatch:
                (
                    "InvalidSignatureException",
                    "The request signature we calculated does not match the signature you provided. Check your AWS "
                        + "Secret Access Key and signing method. Consult the service documentation for details."
                )
            }
        }
    }

    func verify(method: String, uri: String, headers: HTTPHeaders, body: [UInt8], now: Date = Date()) -> Rejection? {
        guard let authorization = headers.first(name: "authorization") else { return .missing }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return .incomplete("Authorization header requires 'Credential' parameter.")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else {
            return .incomplete(
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else {
            return .incomplete("Credential should be scoped to a valid region.")
        }
        guard scope[0] == credentials.accessKeyID else { return .unknownKey }
        guard let amzDate = headers.first(name: "x-amz-date") else {
            return .incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        let signed = signedList.split(separator: ";").map(String.init)
        guard signed.contains("host"), signed.contains("x-amz-date") else {
            return .incomplete("Signed headers must include host and x-amz-date.")
        }
        let token = headers.first(name: "x-amz-security-token")
        if token != credentials.sessionToken || (token != nil && !signed.contains("x-amz-security-token")) {
            return .badToken
        }
        guard scope[1] == String(amzDate.prefix(8)) else {
            return .badScope(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.")
        }
        guard scope[2] == credentials.region, scope[3] == "bedrock" else {
            return .badScope(
                "Credential should be scoped to a valid region and service: '\(credentials.region)', 'bedrock'.")
        }
        guard let date = Self.parse(amzDate), abs(date.timeIntervalSince(now)) <= Self.allowedSkew else {
            return .expired("Signature expired: \(amzDate) is outside the allowed five minutes of the server's time.")
        }
        let (path, query) = Self.split(uri)
        var canonicalHeaders = ""
        for name in signed {
            let values = headers[name].map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            canonicalHeaders += name + ":" + values.joined(separator: ",") + "\n"
        }
        let canonical = [
            method, Self.canonicalPath(path), Self.canonicalQuery(query), canonicalHeaders, signedList,
            Self.hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope[1...4].joined(separator: "/"),
            Self.hex(SHA256.hash(data: Data(canonical.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in scope[1...4] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        return expected == signature ? nil : .mismatch
    }

    static func split(_ uri: String) -> (path: String, query: String) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }

    /// Every segment of the path as received, URI-encoded again (`%3A` → `%253A`).
    static func canonicalPath(_ path: String) -> String {
        path.isEmpty ? "/" : path.components(separatedBy: "/").map(encode).joined(separator: "/")
    }

    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        return query.components(separatedBy: "&").map { pair -> (String, String) in
            let parts = pair.components(separatedBy: "=")
            let name = encode(parts[0].removingPercentEncoding ?? parts[0])
            let value = parts.count > 1 ? encode(parts[1...].joined(separator: "=").removingPercentEncoding ?? "") : ""
            return (name, value)
        }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
    }

    /// RFC 3986 unreserved characters kept, every other UTF-8 byte as `%XX`.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if scalar.properties.isASCIIHexDigit || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || "-._~".unicodeScalars.contains(scalar)
            {
                out.unicodeScalars.append(scalar)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// `20240115T120000Z`.
    static func parse(_ amzDate: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: amzDate)
    }
}
