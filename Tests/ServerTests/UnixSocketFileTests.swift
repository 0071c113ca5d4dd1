import Foundation
import Testing

@testable import Server

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct UnixSocketFileTests {
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
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if listening { listen(descriptor, 4) }
        return descriptor
    }

    @Test func createsTheParentDirectories() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/a/b/gw.sock"
        try UnixSocketFile.prepare(path)
        var isDirectory: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: directory + "/a/b", isDirectory: &isDirectory)
                && isDirectory.boolValue)
    }

    @Test func replacesAStaleSocket() throws {
        let path = try temporaryDirectory() + "/gw.sock"
        close(bindSocket(path, listening: false))  // the file stays, nobody answers
        #expect(FileManager.default.fileExists(atPath: path))
        try UnixSocketFile.prepare(path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func refusesASocketSomeoneAnswersOn() throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let descriptor = bindSocket(path, listening: true)
        defer { close(descriptor) }
        #expect(throws: UnixSocketFile.Failure.self) { try UnixSocketFile.prepare(path) }
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func neverRemovesARegularFile() throws {
        let path = try temporaryDirectory() + "/not-a-socket"
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8))
        #expect(throws: UnixSocketFile.Failure.self) { try UnixSocketFile.prepare(path) }
        UnixSocketFile.remove(path)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func setsTheMode() throws {
        let path = try temporaryDirectory() + "/gw.sock"
        let descriptor = bindSocket(path, listening: true)
        defer { close(descriptor) }
        try UnixSocketFile.setMode(path, mode: 0o600)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }
}
