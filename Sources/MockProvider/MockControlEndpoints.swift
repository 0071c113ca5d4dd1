import NIOCore
import NIOHTTP1

/// The mock's own endpoints, outside any provider API: `GET /_mock/stats`, `POST /_mock/faults`
/// (body = fault spec, empty clears), `POST /_mock/reset` (clears the stats).
enum MockControlEndpoints {
    static func reply(to request: MockRequest, core: MockProviderCore) -> MockReply {
        switch (request.method, request.path) {
        case (.GET, "/_mock/stats"):
            return json(.ok, statsJSON(core.stats))
        case (.POST, "/_mock/faults"):
            let spec = String(decoding: request.body.readableBytesView, as: UTF8.self)
            do {
                try core.setFaults(spec)
                return json(.ok, #"{"faults":"# + MockJSON.quoted(spec) + "}")
            } catch {
                return json(.badRequest, #"{"error":"# + MockJSON.quoted(error.description) + "}")
            }
        case (.POST, "/_mock/reset"):
            core.resetStats()
            return json(.ok, #"{"reset":true}"#)
        default:
            return json(.notFound, #"{"error":"unknown control endpoint"}"#)
        }
    }

    private static func json(_ status: HTTPResponseStatus, _ body: String) -> MockReply {
        MockReply(status: status, headers: ["content-type": "application/json"], body: .full(body))
    }

    static func statsJSON(_ stats: MockStats) -> String {
        var out = #"{"requests":\#(stats.requests),"requests_by_path":{"#
        for (offset, entry) in stats.requestsByPath.sorted(by: { $0.key < $1.key }).enumerated() {
            out += (offset > 0 ? "," : "") + MockJSON.quoted(entry.key) + ":\(entry.value)"
        }
        out += #"},"connections_accepted":\#(stats.connectionsAccepted),"faults_injected":\#(stats.faultsInjected)"#
        out += #","streams_started":\#(stats.streamsStarted),"streams_completed":\#(stats.streamsCompleted)"#
        out += #","streams_aborted_by_client":\#(stats.streamsAbortedByClient)"#
        out += #","responses_aborted_by_client":\#(stats.responsesAbortedByClient),"recent_requests":["#
        for (offset, request) in stats.recentRequests.enumerated() {
            out += offset > 0 ? "," : ""
            out += #"{"method":"# + MockJSON.quoted(request.method) + #","uri":"# + MockJSON.quoted(request.uri)
            out += #","headers":["#
            out += request.headers.map { "[" + MockJSON.quoted($0.name) + "," + MockJSON.quoted($0.value) + "]" }
                .joined(separator: ",")
            out += #"],"body":"# + MockJSON.quoted(request.bodyText) + "}"
        }
        return out + "]}"
    }
}
