import Dialects
import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// `kind: bedrock` attempts in the pipeline: signed at send time with the pipeline's clock and the
/// keyring's AWS credentials, after the trace headers; credentials scrubbed from relayed errors.
@Suite struct BedrockAttemptTests {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDPIPELINETEST0001", secretAccessKey: "pipeline-aws-SECRET-0a1b2c",
        sessionToken: "tok-SECRET-3d4e")

    static func harness(_ script: [String: [ScriptedAnswer]], withCredentials: Bool = true) -> PipelineHarness {
        var provider = ProviderConfiguration(name: "aws", kind: .bedrock, baseURL: "http://bedrock.test")
        provider.aws = AWSProviderConfiguration(region: "eu-west-1")
        let configuration = GatewayConfiguration(
            providers: [provider],
            models: [ModelConfiguration(name: "m", targets: [.init(provider: "aws", model: "anthropic.m-v1:0")])])
        let keys = withCredentials ? credentials.keyringEntries(provider: "aws").mapValues(\.revealed) : [:]
        return PipelineHarness(configuration, keyring: ProviderKeyring(keys), transport: ScriptedTransport(script))
    }

    static let answer = Array(
        #"{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}"#
            .utf8)
    static let prefix = "http://bedrock.test/model/anthropic.m-v1%3A0/converse"

    @Test func eachRequestIsSignedAtSendTimeWithTheKeyringsCredentials() async throws {
        let harness = Self.harness([Self.prefix: [.json(Self.answer), .json(Self.answer)]])
        let body = #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#
        #expect(await harness.send(body).status == 200)
        harness.clock.advance(.seconds(600))
        #expect(await harness.send(body).status == 200)
        let sent = harness.transport.requests(to: Self.prefix)
        #expect(sent.count == 2)
        var dates: [String] = []
        for request in sent {
            let headers = Dictionary(request.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
            let date = try #require(headers["x-amz-date"])
            dates.append(date)
            #expect(headers["host"] == "bedrock.test")
            #expect(headers["x-amz-security-token"] == Self.credentials.sessionToken)
            #expect(headers["traceparent"] != nil)
            let authorization = try #require(headers["authorization"])
            #expect(authorization.contains("SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token,"))
            // The signature is the signer's over exactly what was sent.
            let recomputed = AWSSigV4Signer.signature(
                method: request.method, path: "/model/anthropic.m-v1%3A0/converse", query: "",
                headers: request.headers.filter { $0.name != "authorization" }, body: request.body,
                credentials: Self.credentials, scope: AWSSigningScope(region: "eu-west-1", service: "bedrock"),
                amzDate: date)
            #expect(authorization == recomputed.authorization)
        }
        #expect(
            dates == [
                AWSSigV4Signer.amzDate(epochSeconds: 1_800_000_000),
                AWSSigV4Signer.amzDate(epochSeconds: 1_800_000_600),
            ])
    }

    @Test func relayedErrorsNeverCarryTheCredentials() async {
        let echo = Array(
            #"{"message":"bad key AKIDPIPELINETEST0001 with pipeline-aws-SECRET-0a1b2c and tok-SECRET-3d4e"}"#.utf8)
        let harness = Self.harness([
            Self.prefix: [.response(status: 400, headers: [("x-amzn-errortype", "ValidationException")], body: echo)]
        ])
        let reply = await harness.send(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#)
        #expect(reply.status == 400)
        #expect(reply.body.contains("bad key"))
        for secret in [Self.credentials.accessKeyID, Self.credentials.secretAccessKey, "tok-SECRET-3d4e"] {
            #expect(!reply.body.contains(secret), "\(reply.body)")
            #expect(!(reply.record.errorMessage ?? "").contains(secret))
        }
    }

    @Test func withoutCredentialsNothingIsSent() async {
        let harness = Self.harness([Self.prefix: [.json(Self.answer)]], withCredentials: false)
        let reply = await harness.send(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#)
        #expect(reply.status == 502)
        #expect(reply.body.contains("no AWS credentials"))
        #expect(harness.transport.requests(to: Self.prefix).isEmpty)
    }
}
