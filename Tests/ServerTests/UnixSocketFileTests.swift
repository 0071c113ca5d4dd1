import Foundation
import GatewayTesting
import NIOCore
import NIOPosix
import Testing

@testable import Server

#if canImport(Glibc)
    import Glibc
#endif

/// Serialized: `bind` narrows the process-wide umask around its bind, so two binds at once see
/// each other's mask.
@Suite(.serialized) struct UnixSocketFileTests {
    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-sock-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Binds a Unix socket at `path`; listens when `listening`. Returns the descriptor.
    private func bindSocket(_ path: String, listening: Bool) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = withUnixAddress(path: path) { bind(descriptor, $0, $1) }
        if listening { listen(descriptor, 4) }
        return descriptor
    }

    /// Binds a listening socket through `file`; returns it and the file's mode seen during the bind.
    private func bindListening(
        _ file: UnixSocketFile, _ path: String, mode finalMode: UInt32, group: String?
    ) async throws -> (descriptor: Int32, modeDuringBind: Int?) {
        var modeDuringBind: Int?
        let descriptor = try await file.bind(mode: finalMode, group: group) {
            let descriptor = bindSocket(path, listening: true)
            modeDuringBind = try mode(path)
            return descriptor
        }
        return (descriptor, modeDuringBind)
    }

    private func mode(_ path: String) throws -> Int? {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue
    }

    @Test func createsTheParentDirectories() throws {
        let directory = try temporaryDirectory()
        let file = try UnixSocketFile.claim(directory + "/a/b/gw.sock")
        defer { file.release() }
        var isDirectory: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: directory + "/a/b", isDirectory: &isDirectory)
                && isDirectory.boolValue)
        #expect(FileManager.default.fileExists(atPath: directory + "/a/b/gw.sock.lock"))
    }

    @Test func replacesAStaleSocket() throws {
        let path = try temporaryDirectory() + "/gw.sock"
        close(bindSocket(path, listening: false))  // the file stays, nobody answers
        #expect(FileManager.default.fileExists(atPath: path))
        let file = try UnixSocketFile.claim(path)
        defer { file.release() }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func refusesASocketSomeoneAnswersOn() throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let descriptor = bindSocket(path, listening: true)
        defer { close(descriptor) }
        #expect(throws: UnixSocketFile.Failure.self) { try UnixSocketFile.claim(path) }
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func neverRemovesARegularFile() throws {
        let path = try temporaryDirectory() + "/not-a-socket"
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8))
        #expect(throws: UnixSocketFile.Failure.self) { try UnixSocketFile.claim(path) }
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func onlyOneClaimOfAPathAtATime() throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let first = try UnixSocketFile.claim(path)
        #expect(throws: UnixSocketFile.Failure.self) { try UnixSocketFile.claim(path) }
        first.release()
        let second = try UnixSocketFile.claim(path)
        second.release()
    }

    @Test func bindsWithTheFinalModeAndGroup() async throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let file = try UnixSocketFile.claim(path)
        defer { file.release() }
        let ownGroup = String(getgid())
        let (descriptor, modeDuringBind) = try await bindListening(file, path, mode: 0o640, group: ownGroup)
        defer { close(descriptor) }
        // Born without group bits (the group is set after bind), never wider than asked.
        #expect(modeDuringBind == 0o600)
        #expect(try mode(path) == 0o640)
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_gid == getgid())
    }

    @Test func bindsWithTheFinalModeWithoutAGroup() async throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let file = try UnixSocketFile.claim(path)
        defer { file.release() }
        let (descriptor, modeDuringBind) = try await bindListening(file, path, mode: 0o660, group: nil)
        defer { close(descriptor) }
        #expect(modeDuringBind == 0o660)
    }

    @Test func releaseLeavesASuccessorsSocketAlone() async throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let file = try UnixSocketFile.claim(path)
        let descriptor = try await file.bind(mode: 0o660, group: nil) { bindSocket(path, listening: false) }
        close(descriptor)
        // Someone else replaced the path (a successor that found our socket stale).
        unlink(path)
        let successor = bindSocket(path, listening: true)
        defer { close(successor) }
        file.release()
        #expect(FileManager.default.fileExists(atPath: path), "the predecessor deleted its successor's socket")
    }

    @Test func releaseRemovesItsOwnSocketOnce() async throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let file = try UnixSocketFile.claim(path)
        let descriptor = try await file.bind(mode: 0o660, group: nil) { bindSocket(path, listening: true) }
        defer { close(descriptor) }
        file.release()
        #expect(!FileManager.default.fileExists(atPath: path))
        file.release()
    }

    @Test func unknownGroupIsAnError() throws {
        #expect(throws: UnixSocketFile.Failure.self) { try UnixSocketFile.groupID("no-such-group-llmgw") }
        #expect(try UnixSocketFile.groupID("0") == 0)
    }
}
