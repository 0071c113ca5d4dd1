import Foundation
import GatewayTesting
import Testing

@testable import Server

#if canImport(Glibc)
    import Glibc
#endif

/// Reading systemd's `LISTEN_*` variables, choosing the gateway's descriptor, and checking it.
struct SocketActivationTests {
    private typealias Passed = [(descriptor: Int32, name: String?)]

    private func passed(_ environment: [String: String], pids: Set<Int32> = [42]) throws -> Passed? {
        try SocketActivation.passedDescriptors(in: environment, acceptedPIDs: pids)
    }

    @Test func nothingIsPassedWithoutListenFDs() throws {
        #expect(try passed([:]) == nil)
        #expect(try passed(["LISTEN_PID": "42"]) == nil)
    }

    @Test func descriptorsMeantForAnotherProcessAreNotOurs() throws {
        #expect(try passed(["LISTEN_FDS": "1", "LISTEN_PID": "7"]) == nil)
        // A supervisor's child accepts its parent's PID.
        let forChild = try passed(["LISTEN_FDS": "1", "LISTEN_PID": "7"], pids: [42, 7])
        #expect(forChild?.map(\.descriptor) == [3])
    }

    @Test func descriptorsStartAtThreeWithTheirNames() throws {
        let result = try passed(["LISTEN_FDS": "2", "LISTEN_PID": "42", "LISTEN_FDNAMES": "metrics:llmgw"])
        #expect(result?.map(\.descriptor) == [3, 4])
        #expect(result?.map(\.name) == ["metrics", "llmgw"])
        let unnamed = try passed(["LISTEN_FDS": "1", "LISTEN_PID": "42"])
        #expect(unnamed?.map(\.name) == [nil])
        #expect(try passed(["LISTEN_FDS": "0", "LISTEN_PID": "42"]) == nil)
    }

    @Test func malformedVariablesAreErrors() {
        #expect(throws: SocketActivation.Failure.self) { try passed(["LISTEN_FDS": "1"]) }
        #expect(throws: SocketActivation.Failure.self) { try passed(["LISTEN_FDS": "1", "LISTEN_PID": "x"]) }
        #expect(throws: SocketActivation.Failure.self) { try passed(["LISTEN_FDS": "-1", "LISTEN_PID": "42"]) }
        #expect(throws: SocketActivation.Failure.self) {
            try passed(["LISTEN_FDS": "2", "LISTEN_PID": "42", "LISTEN_FDNAMES": "llmgw"])
        }
    }

    @Test func theOnlyDescriptorOrTheOneNamedLLMGW() throws {
        #expect(try SocketActivation.chooseListener([(3, "whatever")]).descriptor == 3)
        #expect(try SocketActivation.chooseListener([(3, "metrics"), (4, "llmgw")]).descriptor == 4)
        #expect(throws: SocketActivation.Failure.self) {
            try SocketActivation.chooseListener([(3, "a"), (4, "b")])
        }
        #expect(throws: SocketActivation.Failure.self) { try SocketActivation.chooseListener([(3, nil), (4, nil)]) }
    }

    @Test func acceptsOnlyAListeningUnixStreamSocket() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-act-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/gw.sock"
        let stream = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(stream) }
        #expect(withUnixAddress(path: path) { bind(stream, $0, $1) } == 0)
        #expect(throws: SocketActivation.Failure.self) { try SocketActivation.checkListeningUnixStream(stream) }
        listen(stream, 4)
        #expect(try SocketActivation.checkListeningUnixStream(stream) == path)

        let datagram = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(datagram) }
        #expect(throws: SocketActivation.Failure.self) { try SocketActivation.checkListeningUnixStream(datagram) }
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(tcp) }
        #expect(throws: SocketActivation.Failure.self) { try SocketActivation.checkListeningUnixStream(tcp) }
        let file = open("/dev/null", O_RDONLY)
        defer { close(file) }
        #expect(throws: SocketActivation.Failure.self) { try SocketActivation.checkListeningUnixStream(file) }
    }
}

/// `sd_notify`: one datagram per state change to `NOTIFY_SOCKET`, a path or an abstract name.
@Suite(.serialized) struct ServiceManagerNotifierTests {
    private func receive(_ descriptor: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }

    @Test func sendsReadyAndStoppingToAPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-notify-\(UUID().uuidString.prefix(8)).sock"
        ).path
        defer { unlink(path) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        #expect(withUnixAddress(path: path) { bind(descriptor, $0, $1) } == 0)
        setReceiveTimeout(descriptor)
        let notifier = try #require(ServiceManagerNotifier(notifySocket: path))
        #expect(notifier.ready(status: "serving"))
        #expect(receive(descriptor) == "READY=1\nSTATUS=serving")
        #expect(notifier.stopping(status: "draining"))
        #expect(receive(descriptor) == "STOPPING=1\nSTATUS=draining")
    }

    @Test func sendsToAnAbstractName() throws {
        let name = "llmgw-notify-\(UUID().uuidString.prefix(8))"
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [0] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t((MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2) + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        #expect(bound == 0)
        setReceiveTimeout(descriptor)
        let notifier = try #require(ServiceManagerNotifier(notifySocket: "@" + name))
        #expect(notifier.ready(status: "serving"))
        #expect(receive(descriptor) == "READY=1\nSTATUS=serving")
    }

    @Test func namesThatAreNoUnixSocketAreRefused() {
        #expect(ServiceManagerNotifier(notifySocket: "") == nil)
        #expect(ServiceManagerNotifier(notifySocket: "@") == nil)
        #expect(ServiceManagerNotifier(notifySocket: "vsock:2:1234") == nil)
        #expect(ServiceManagerNotifier(notifySocket: "/" + String(repeating: "x", count: 200)) == nil)
    }

    @Test func aMissingListenerIsNotAnError() throws {
        let notifier = try #require(ServiceManagerNotifier(notifySocket: "/nonexistent/llmgw-notify.sock"))
        #expect(!notifier.ready(status: "serving"))
    }

    private func setReceiveTimeout(_ descriptor: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
