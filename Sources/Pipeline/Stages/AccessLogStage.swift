import GatewayCore

/// Stage 9, log: the gateway's own error answers, and the one access-log line of every request,
/// which is also what the request metrics count.
struct AccessLogStage: Sendable {
    let sink: any AccessLogSink
    let metrics: GatewayMetrics

    /// Answers with `error` in the client's shape and notes it for the log.
    func respond(with error: GatewayError, exchange: inout Exchange, writer: some ResponseWriter) async {
        await exchange.respond(with: error, to: writer)
    }

    /// Writes the access-log line and counts the request in the metrics.
    func finish(_ exchange: Exchange) {
        var record = exchange.record
        let received = exchange.request.receivedAt
        record.latencyMilliseconds = (ContinuousClock.now - received) / .milliseconds(1)
        record.ttfbMilliseconds = exchange.firstByteAt.map { ($0 - received) / .milliseconds(1) }
        record.overheadMicroseconds = exchange.overheadMicroseconds
        if record.outcome == .clientClosed && record.status == 0 { record.status = 499 }
        sink.record(record)
        metrics.record(record, cacheConsulted: exchange.cacheConsulted)
    }
}
