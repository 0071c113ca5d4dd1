import Crypto
import GatewayCore

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) in an `Authorization` header, as botocore's
/// `SigV4Auth` computes it for services other than S3 (docs/wire/bedrock.md §7):
///
/// 1. canonical request: method, the path with each segment URI-encoded again (the wire `%3A` is
///    signed as `%253A`), the sorted and encoded query, the signed headers (lower-case names, values
///    trimmed with inner white space runs collapsed, repeated names joined with `,`, sorted), their
///    names, and the hex SHA-256 of the body;
/// 2. string to sign: algorithm, `X-Amz-Date`, scope `yyyymmdd/region/service/aws4_request`, the
///    hex SHA-256 of the canonical request;
/// 3. signing key: HMAC-SHA256 chained over the date, region, service and `aws4_request`, from
///    `"AWS4" + secret`;
/// 4. signature: hex HMAC of the string to sign.
///
/// Every header of the request is signed except the hop-by-hop and tracing ones botocore leaves out
/// (`SIGNED_HEADERS_BLACKLIST`: `traceparent`, `user-agent`, `expect`, …), which may change on the
/// way. No `x-amz-content-sha256` is sent: Bedrock, like botocore, does without.
/// Pure: the time comes in as an argument.
public enum AWSSigV4Signer {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// Headers that may change on the way and are never signed (botocore 1.44 `SIGNED_HEADERS_BLACKLIST`).
    static let unsignedHeaders: Set<String> = [
        "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// Every intermediate result of one signature, for tests against published vectors.
    public struct Signature: Sendable, Equatable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signedHeaders: String
        /// Hex HMAC-SHA256 of the string to sign.
        public var signature: String
        /// The `Authorization` header value.
        public var authorization: String
    }

    /// Signs `request` at `epochSeconds`: sets `host` (exactly what is sent), `x-amz-date`,
    /// `x-amz-security-token` with temporary credentials, then `authorization`; replaces any of
    /// them already there.
    public static func sign(
        _ request: inout UpstreamRequest, credentials: AWSCredentials, scope: AWSSigningScope, epochSeconds: Int64
    ) {
        let parts = URLParts(request.url)
        let replaced: Set<String> = ["host", "x-amz-date", "x-amz-security-token", "authorization"]
        var headers = request.headers.filter { !replaced.contains($0.name.lowercased()) }
        let date = amzDate(epochSeconds: epochSeconds)
        headers.append(("host", parts.authority))
        headers.append(("x-amz-date", date))
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let result = signature(
            method: request.method, path: parts.path, query: parts.query, headers: headers, body: request.body,
            credentials: credentials, scope: scope, amzDate: date)
        headers.append(("authorization", result.authorization))
        request.headers = headers
    }

    /// The signature of a request whose headers are final (`host` and `x-amz-date` included).
    /// `path` and `query` are as sent on the wire (percent-encoded where the wire needs it).
    public static func signature(
        method: String,
        path: String,
        query: String,
        headers: [(name: String, value: String)],
        body: [UInt8],
        credentials: AWSCredentials,
        scope: AWSSigningScope,
        amzDate: String
    ) -> Signature {
        let (canonicalHeaders, signedHeaders) = canonicalHeaders(headers)
        let canonicalRequest = [
            method.uppercased(), canonicalURI(path), canonicalQuery(query), canonicalHeaders, signedHeaders,
            sha256Hex(body),
        ].joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let credentialScope = "\(day)/\(scope.region)/\(scope.service)/aws4_request"
        let stringToSign = [
            algorithm, amzDate, credentialScope, hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let key = signingKey(
            secret: credentials.secretAccessKey, day: day, region: scope.region, service: scope.service)
        let signature = hex(hmac(key, Array(stringToSign.utf8)))
        let authorization =
            "\(algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    public static func signingKey(secret: String, day: String, region: String, service: String) -> [UInt8] {
        var key = Array(("AWS4" + secret).utf8)
        for part in [day, region, service, "aws4_request"] { key = hmac(key, Array(part.utf8)) }
        return key
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(epochSeconds: Int64) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let seconds = Int(epochSeconds - days * 86_400)
        let (year, month, day) = civil(daysSinceEpoch: days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)\(two(month))\(two(day))T\(two(seconds / 3600))\(two(seconds / 60 % 60))\(two(seconds % 60))Z"
    }

    /// Each segment URI-encoded (again, for a wire path that is already encoded); `/` when empty.
    static func canonicalURI(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { URLPath.segment(String($0)) }
            .joined(separator: "/")
    }

    /// Parameters decoded, encoded the AWS way, sorted by name then value, joined with `&`.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = URLPath.segment(percentDecoded(halves[0]))
            let value = halves.count > 1 ? URLPath.segment(percentDecoded(halves[1])) : ""
            return (name, value)
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The canonical header block (each `name:value\n`) and the `;`-joined names.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, names: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            let name = header.name.lowercased()
            guard !unsignedHeaders.contains(name), name != "authorization" else { continue }
            values[name, default: []].append(header.value.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
        let names = values.keys.sorted()
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Hex SHA-256, the payload hash of the canonical request.
    static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    static func hex<Digest: Sequence>(_ bytes: Digest) -> String where Digest.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.first {
            utf8 = utf8.dropFirst()
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Howard Hinnant's `civil_from_days`.
    private static func civil(daysSinceEpoch: Int64) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), Int(month), Int(day))
    }
}

/// The authority, path and query of an absolute URL, as they are sent.
struct URLParts {
    var authority: String
    var path: String
    var query: String

    init(_ url: String) {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        self.authority = String(authority).lowercased()
        rest = rest[authorityEnd...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let mark = rest.firstIndex(of: "?") {
            path = String(rest[..<mark])
            query = String(rest[rest.index(after: mark)...])
        } else {
            path = String(rest)
            query = ""
        }
    }
}
