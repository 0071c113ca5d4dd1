import Dialects
import GatewayCore

/// An OpenAI-dialect request (Chat Completions, embeddings, moderations, Responses) to an OpenAI-compatible or
/// Azure target: the body passes through with only the model rewritten, the answer comes back
/// byte for byte. A Responses request continuing a chain llmgw stored carries the chain's items
/// in `input` instead (`previous_response_id` set to null), so any target can continue it.
struct OpenAIPassthroughAttempt {
    let context: AttemptContext

    func run(
        _ target: RouteTarget,
        _ request: AttemptRequest,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let summary = request.summary
        if request.endpoint == .moderations && target.provider.kind == .azure {
            // Azure OpenAI has no moderation endpoint (its content filter is part of each answer).
            let error = GatewayError(
                .badRequest,
                "Moderations (/v1/moderations) are served only by OpenAI-compatible targets, not by Azure "
                    + "(\(target.label)).")
            throw .refused(
                ProviderRefusal(
                    status: error.status, contentType: "application/json", body: exchange.client.errorBody(error),
                    contextLength: false))
        }
        let recorder = AttemptRecorder(target: target)
        var body = RequestInspection.rewrite(
            exchange.request.body, summary: summary, upstreamModel: target.upstreamModel)
        if let history = request.responses?.history {
            body = RequestInspection.inlining(history.items, into: body)
        }
        let path =
            switch request.endpoint {
            case .chatCompletions: "/chat/completions"
            case .responses: "/responses"
            case .completions: "/completions"
            case .moderations: "/moderations"
            default: "/embeddings"
            }
        let apiKey = context.keyring.key(for: target.provider.name)
        let upstreamRequest =
            target.provider.kind == .azure
            ? AzureProviderCodec.request(
                path: path,
                body: body,
                deployment: target.upstreamModel,
                provider: target.provider,
                apiKey: apiKey,
                stream: summary.stream,
                timeouts: target.timeouts
            )
            : OpenAIProviderCodec.request(
                path: path,
                body: body,
                provider: target.provider,
                apiKey: apiKey,
                stream: summary.stream,
                timeouts: target.timeouts
            )
        let response = try await context.send(upstreamRequest, recorder: recorder, exchange: &exchange)
        guard (200..<300).contains(response.status) else {
            let errorBody = await context.errorBody(response, exchange: &exchange)
            let message = OpenAIProviderCodec.errorMessage(inBody: errorBody).map { context.scrub($0) }
            var label = "HTTP \(response.status)" + (message.map { " (\(AttemptContext.truncate($0)))" } ?? "")
            if response.status == 401 || response.status == 403 {
                label = "HTTP \(response.status) (the provider rejected the gateway's key for \(target.provider.name))"
            }
            throw context.refusal(
                label: label,
                failureClass: FailureClass.of(
                    OpenAIProviderCodec.error(status: response.status, body: errorBody), response: response),
                status: response.status,
                contentType: response.header("content-type") ?? "application/json",
                body: errorBody,
                recorder: recorder,
                exchange: &exchange
            )
        }
        context.answering(recorder, exchange: &exchange, answer: &answer)
        if summary.stream && request.endpoint == .responses {
            try await StreamRelay(context: context).relay(
                response, translator: ResponsesStreamRelay(), recorder: recorder, keeper: request.keeper,
                exchange: &exchange, answer: &answer, writer: writer)
            return
        }
        if summary.stream {
            try await StreamRelay(context: context).relay(
                response,
                translator: OpenAIStreamRelay(
                    forwardUsageChunk: summary.clientWantsStreamUsage,
                    normalizingAzure: target.provider.kind == .azure && !target.provider.rawStream),
                recorder: recorder,
                exchange: &exchange,
                answer: &answer,
                writer: writer
            )
            return
        }
        let answerBody = try await context.collectJSON(response, recorder: recorder, exchange: &exchange)
        var usage = RequestInspection.usage(inResponse: answerBody)
        if request.endpoint == .responses {
            usage = RequestInspection.responsesUsage(inResponse: answerBody)
        }
        await context.deliver(
            answerBody,
            status: response.status,
            contentType: response.header("content-type") ?? "application/json",
            usage: usage,
            attempt: recorder.record(status: response.status, error: nil),
            keeper: request.keeper,
            exchange: &exchange,
            answer: &answer,
            writer: writer
        )
    }
}
