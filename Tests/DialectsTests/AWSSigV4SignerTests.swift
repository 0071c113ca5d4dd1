import Foundation
import GatewayCore
import Testing

@testable import Dialects

/// The SigV4 signer against AWS's published vectors (`Fixtures/aws-sigv4`, from the
/// aws-signing-test-suite), AWS's documented examples, and the Bedrock example of
/// docs/wire/bedrock.md §7 (which botocore's `SigV4Auth` reproduces).
@Suite struct AWSSigV4SignerTests {
    static let vectorNames: [String] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/aws-sigv4", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: url.path)
        else { return [] }
        return names.filter { !$0.hasSuffix(".md") }.sorted()
    }()

    static let exampleCredentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    @Test func theSuiteIsThere() {
        #expect(Self.vectorNames.count >= 20)
    }

    @Test(arguments: vectorNames)
    func aSuiteVectorSignsExactly(_ name: String) throws {
        let vector = try SigV4Vector(name)
        let result = AWSSigV4Signer.signature(
            method: vector.method, path: vector.path, query: vector.query, headers: vector.headersToSign,
            body: vector.body, credentials: vector.credentials, scope: vector.scope, amzDate: vector.amzDate)
        #expect(result.canonicalRequest == vector.expected("header-canonical-request.txt"))
        #expect(result.stringToSign == vector.expected("header-string-to-sign.txt"))
        #expect(result.signature == vector.expected("header-signature.txt"))
        let signed = vector.expected("header-signed-request.txt")
        #expect(signed.contains("Authorization:" + result.authorization + "\n"), "\(signed)")
    }

    @Test func theDateIsUTCInTheAmzFormat() {
        #expect(AWSSigV4Signer.amzDate(epochSeconds: 1_440_938_160) == "20150830T123600Z")
        #expect(AWSSigV4Signer.amzDate(epochSeconds: 1_705_320_000) == "20240115T120000Z")
        #expect(AWSSigV4Signer.amzDate(epochSeconds: 0) == "19700101T000000Z")
        #expect(AWSSigV4Signer.amzDate(epochSeconds: 951_868_799) == "20000229T235959Z")
    }

    @Test func theSigningKeysMatchAWSsExamples() {
        let secret = Self.exampleCredentials.secretAccessKey
        #expect(
            AWSSigV4Signer.hex(
                AWSSigV4Signer.signingKey(secret: secret, day: "20120215", region: "us-east-1", service: "iam"))
                == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
        #expect(
            AWSSigV4Signer.hex(
                AWSSigV4Signer.signingKey(secret: secret, day: "20150830", region: "us-east-1", service: "iam"))
                == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    }

    @Test func theIAMListUsersExampleGivesAWSsSignature() {
        let result = AWSSigV4Signer.signature(
            method: "GET", path: "/", query: "Action=ListUsers&Version=2010-05-08",
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Host", "iam.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: [], credentials: Self.exampleCredentials, scope: AWSSigningScope(region: "us-east-1", service: "iam"),
            amzDate: "20150830T123600Z")
        #expect(result.signature == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
        #expect(
            result.stringToSign.hasSuffix("\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"))
    }

    /// docs/wire/bedrock.md §7: the model id's `%3A` is signed as `%253A`.
    @Test func theBedrockExampleMatchesBotocore() {
        let body = Array(
            #"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":64}}"#.utf8)
        #expect(body.count == 91)
        var request = UpstreamRequest(
            url:
                "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
            headers: [("content-type", "application/json")], body: body, timeouts: TimeoutConfiguration())
        AWSSigV4Signer.sign(
            &request, credentials: Self.exampleCredentials,
            scope: AWSSigningScope(region: "us-east-1", service: "bedrock"),
            epochSeconds: 1_705_320_000)
        let headers = Dictionary(request.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        #expect(headers["host"] == "bedrock-runtime.us-east-1.amazonaws.com")
        #expect(headers["x-amz-date"] == "20240115T120000Z")
        #expect(headers["x-amz-security-token"] == nil)
        #expect(
            headers["authorization"]
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/bedrock/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date, "
                + "Signature=41b4da20dfd5e143de2e5f64d725497edfbb3ad6cb9ee4f95374169e2659eb3d")
        let signature = AWSSigV4Signer.signature(
            method: "POST", path: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", query: "",
            headers: Array(request.headers.dropLast()), body: body, credentials: Self.exampleCredentials,
            scope: AWSSigningScope(region: "us-east-1", service: "bedrock"), amzDate: "20240115T120000Z")
        #expect(signature.canonicalRequest.contains("\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n"))
        #expect(
            AWSSigV4Signer.hex(
                AWSSigV4Signer.signingKey(
                    secret: Self.exampleCredentials.secretAccessKey, day: "20240115", region: "us-east-1",
                    service: "bedrock"))
                == "d4de7750f444a5199cbf173bfcceb1ef9613ceccaf3e489ccd1a1e1d5755047f")
    }

    @Test func aSessionTokenIsSentAndSigned() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token-123")
        var request = UpstreamRequest(
            url: "http://127.0.0.1:8080/model/m/converse",
            headers: [("Host", "stale"), ("content-type", "application/json")],
            body: [], timeouts: TimeoutConfiguration())
        AWSSigV4Signer.sign(
            &request, credentials: credentials, scope: AWSSigningScope(region: "eu-west-1", service: "bedrock"),
            epochSeconds: 1_705_320_000)
        let names = request.headers.map(\.name)
        #expect(names == ["content-type", "host", "x-amz-date", "x-amz-security-token", "authorization"])
        #expect(request.headers[1].value == "127.0.0.1:8080")
        #expect(request.headers[3].value == "token-123")
        #expect(request.headers[4].value.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"))
        #expect(request.headers[4].value.contains("Credential=AKID/20240115/eu-west-1/bedrock/aws4_request,"))
    }

    @Test func credentialsNeverPrintTheirValues() {
        let credentials = AWSCredentials(accessKeyID: "AKIDVISIBLE", secretAccessKey: "s3cr3t", sessionToken: "t0k3n")
        let printed = "\(credentials) \(String(reflecting: credentials))"
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [printed, dumped] {
            #expect(!text.contains("s3cr3t") && !text.contains("t0k3n") && !text.contains("AKIDVISIBLE"))
        }
    }
}

/// One directory of the aws-signing-test-suite.
struct SigV4Vector {
    let directory: URL
    var method = ""
    var path = ""
    var query = ""
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var credentials: AWSCredentials
    var scope: AWSSigningScope
    var amzDate: String
    var headersToSign: [(name: String, value: String)]

    init(_ name: String) throws {
        directory = try #require(Bundle.module.url(forResource: "Fixtures/aws-sigv4/\(name)", withExtension: nil))
        let context = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("context.json")))
                as? [String: Any])
        let keys = try #require(context["credentials"] as? [String: String])
        let omitToken = context["omit_session_token"] as? Bool ?? false
        credentials = AWSCredentials(
            accessKeyID: try #require(keys["access_key_id"]), secretAccessKey: try #require(keys["secret_access_key"]),
            sessionToken: omitToken ? nil : keys["token"])
        scope = AWSSigningScope(
            region: try #require(context["region"] as? String), service: try #require(context["service"] as? String))
        let timestamp = try #require(context["timestamp"] as? String)  // 2015-08-30T12:36:00Z
        amzDate = timestamp.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let raw = try Data(contentsOf: directory.appendingPathComponent("request.txt"))
        let text = String(decoding: raw, as: UTF8.self)
        let (head, bodyText) =
            text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (
                text, ""
            )
        body = Array(bodyText.utf8)
        let lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines[0]
        let methodEnd = try #require(requestLine.firstIndex(of: " "))
        method = String(requestLine[..<methodEnd])
        var target = String(requestLine[requestLine.index(after: methodEnd)...])
        if target.hasSuffix(" HTTP/1.1") { target.removeLast(" HTTP/1.1".count) }
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = String(target[target.index(after: mark)...])
        } else {
            path = target
        }
        for line in lines.dropFirst() where !line.isEmpty {
            let colon = try #require(line.firstIndex(of: ":"))
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        headersToSign = headers + [("X-Amz-Date", amzDate)]
        if let token = credentials.sessionToken { headersToSign.append(("X-Amz-Security-Token", token)) }
        if context["sign_body"] as? Bool == true {
            headersToSign.append(("X-Amz-Content-Sha256", AWSSigV4Signer.sha256Hex(body)))
        }
    }

    func expected(_ file: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) ?? "<missing \(file)>"
    }
}
