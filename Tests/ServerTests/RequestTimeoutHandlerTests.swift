import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Server

@Suite struct RequestTimeoutHandlerTests {
    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            RequestTimeoutHandler(readTimeout: .seconds(5), idleTimeout: .seconds(60), writeTimeout: .seconds(30))
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private let head = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/"))

    @Test func closesAnIdleConnection() throws {
        let channel = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func closesASlowRequest() throws {
        let channel = try makeChannel()
        try channel.writeInbound(head)
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        #expect(!channel.isActive)
    }

    @Test func doesNotRunWhileTheResponseIsBeingSent() throws {
        let channel = try makeChannel()
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive, "a long stream is not a slow request")
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(61))
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }

    /// A channel whose request has arrived whole and whose client has stopped reading.
    private func stalledChannel() throws -> EmbeddedChannel {
        let channel = try makeChannel()
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        setWritable(false, channel)
        return channel
    }

    private func setWritable(_ writable: Bool, _ channel: EmbeddedChannel) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    @Test func closesAConnectionWhoseClientStopsReading() throws {
        let channel = try stalledChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive, "a client that reads nothing for write_timeout loses its connection")
    }

    @Test func aClientThatReadsAgainKeepsItsConnection() throws {
        let channel = try stalledChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        setWritable(true, channel)
        setWritable(false, channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(channel.isActive, "the timer restarts whenever the client drains the buffer")
        _ = try? channel.finish()
    }
}
