import GatewayCore
import NIOCore
import NIOHTTP1

/// Answers requests NIO's HTTP parser cannot read (a malformed request line, bad chunk sizes, a
/// head over `listen.max_header_bytes`) before the connection is closed: 431 for an oversized head,
/// 400 otherwise, with a JSON body. The request's path is unknown at that point, so the body is
/// written in a shape both the OpenAI and the Anthropic SDKs parse:
/// `{"type":"error","error":{"type","message","param","code"}}`. Replaces NIO's
/// `HTTPServerProtocolErrorHandler`, which answers with an empty body.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseUnderway = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // ByteToMessageHandler closes the channel right after this returns: answer synchronously,
        // and only when no other response has started.
        if !responseUnderway {
            let (status, message, code) = Self.describe(parserError)
            let body = Self.body(message: message, code: code)
            let headers = HTTPHeaders([
                ("content-type", "application/json"), ("content-length", String(body.count)), ("connection", "close"),
            ])
            let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200: break
        case .head: responseUnderway = true
        case .body: break
        case .end: responseUnderway = false
        }
        context.write(data, promise: promise)
    }

    static func describe(_ error: HTTPParserError) -> (HTTPResponseStatus, String, String) {
        switch error {
        case .headerOverflow:
            (
                .requestHeaderFieldsTooLarge, "The request head (request line and headers) is too large.",
                "headers_too_large"
            )
        case .invalidChunkSize:
            (.badRequest, "The request body's chunked encoding is malformed.", "malformed_request")
        default:
            (.badRequest, "The request is not valid HTTP/1.1.", "malformed_request")
        }
    }

    static func body(message: String, code: String) -> [UInt8] {
        var json = JSONWriter()
        json.object {
            $0.field("type", "error")
            $0.key("error")
            $0.object {
                $0.field("type", "invalid_request_error")
                $0.field("message", message)
                $0.field("param", nil as String?)
                $0.field("code", code)
            }
        }
        return json.bytes
    }
}
