import Foundation
import GatewayTesting
import Testing

/// `deploy/systemd/`: the units say what the gateway expects (socket activation, `Type=notify`,
/// the hardening), and `systemd-analyze verify` accepts them where it is installed.
struct SystemdUnitTests {
    private func unit(_ name: String) throws -> SystemdUnit {
        try SystemdUnit(parsing: try DeployFiles.text("deploy/systemd/" + name))
    }

    @Test func theSocketUnitPassesOneListeningSocketNamedLLMGW() throws {
        let socket = try unit("llmgw.socket")
        #expect(socket.values("Socket", "ListenStream") == ["/run/llmgw/llmgw.sock"])
        #expect(socket.value("Socket", "Accept") == "no")
        // The name SocketActivation picks among several descriptors.
        #expect(socket.value("Socket", "FileDescriptorName") == "llmgw")
        #expect(socket.value("Socket", "SocketMode") == "0660")
        #expect(socket.value("Socket", "SocketGroup") == "llmgw")
        #expect(socket.value("Socket", "DirectoryMode") == "0750")
        #expect(socket.value("Install", "WantedBy") == "sockets.target")
        let tmpfiles = try DeployFiles.text("deploy/systemd/llmgw.tmpfiles.conf")
        #expect(tmpfiles.contains("d /run/llmgw 0750 llmgw llmgw -"))
    }

    @Test func theServiceIsANotifyServiceOfTheSocketAndHardened() throws {
        let service = try unit("llmgw.service")
        #expect(service.value("Unit", "Requires") == "llmgw.socket")
        #expect(service.value("Service", "Type") == "notify")
        #expect(service.value("Service", "NotifyAccess") == "all")
        #expect(service.value("Service", "ExecStart") == "/usr/local/bin/llmgw serve --config /etc/llmgw/llmgw.yaml")
        #expect(service.value("Service", "ExecReload") == "/bin/kill -HUP $MAINPID")
        #expect(service.value("Service", "User") == "llmgw")
        #expect(service.value("Service", "StateDirectory") == "llmgw")
        #expect(service.value("Service", "StateDirectoryMode") == "0700")
        #expect(service.value("Service", "RuntimeDirectory") == "llmgw")
        #expect(service.value("Service", "RuntimeDirectoryPreserve") == "yes")
        let hardening = [
            "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
            "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "",
        ]
        for (key, expected) in hardening { #expect(service.value("Service", key) == expected, "\(key)") }
        // Provider keys as credentials, never in the unit's environment.
        #expect(service.values("Service", "Environment").isEmpty)
        #expect(!service.values("Service", "LoadCredential").isEmpty)
        let stop = try #require(service.value("Service", "TimeoutStopSec"))
        #expect(Int(stop.replacingOccurrences(of: "s", with: "")) ?? 0 > 30, "covers the 30 s drain")
        let users = try DeployFiles.text("deploy/systemd/llmgw.sysusers.conf")
        #expect(users.contains("u llmgw - "))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func systemdAnalyzeVerifiesTheUnits() async throws {
        // A copy whose ExecStart names the binary just built, so the check that it exists passes.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-units-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = try GatewayBinary.url("llmgw").path
        for name in ["llmgw.service", "llmgw.socket"] {
            let text = try DeployFiles.text("deploy/systemd/" + name)
                .replacingOccurrences(of: "/usr/local/bin/llmgw", with: binary)
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let result = try await DeployFiles.run(
            "/usr/bin/systemd-analyze",
            [
                "verify", directory.appendingPathComponent("llmgw.socket").path,
                directory.appendingPathComponent("llmgw.service").path,
            ])
        #expect(result.status == 0, "\(result.output)")
        // systemd-analyze exits 0 on an unknown key, but says so.
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(result.output)")
    }
}

/// `deploy/docker/Dockerfile`: multi-stage, its inputs exist, it runs as a non-root user, and the
/// runtime stage installs every shared library the built `llmgw` needs.
struct DockerfileTests {
    private func dockerfile() throws -> Dockerfile {
        Dockerfile(parsing: try DeployFiles.text("deploy/docker/Dockerfile"))
    }

    @Test func buildsWithSwiftAndRunsOnBookwormSlimAsANonRootUser() throws {
        let stages = try dockerfile().stages
        #expect(stages.count == 2)
        let from = stages.map { $0.first?.arguments ?? "" }
        #expect(from.first?.hasPrefix("swift:6.") == true && from.first?.hasSuffix(" AS builder") == true)
        #expect(from.last == "debian:bookworm-slim")
        let runtime = try #require(stages.last)
        let user = try #require(runtime.last { $0.keyword == "USER" }?.arguments)
        #expect(!["root", "0", "0:0"].contains(user))
        #expect(runtime.contains { $0.keyword == "VOLUME" && $0.arguments.contains("/var/lib/llmgw") })
        #expect(runtime.contains { $0.keyword == "VOLUME" && $0.arguments.contains("/run/llmgw") })
        // The Swift runtime is linked in, since the runtime image has none.
        let build = stages[0].first { $0.keyword == "RUN" && $0.arguments.contains("swift build") }
        #expect(build?.arguments.contains("--static-swift-stdlib") == true)
    }

    @Test func everyCopiedSourceExists() throws {
        for instruction in try dockerfile().instructions where instruction.keyword == "COPY" {
            let words = instruction.arguments.split(separator: " ").map(String.init)
            guard !words.contains(where: { $0.hasPrefix("--from=") }) else { continue }
            let sources = words.filter { !$0.hasPrefix("--") }.dropLast()
            #expect(!sources.isEmpty, "\(instruction.arguments)")
            for source in sources {
                #expect(
                    FileManager.default.fileExists(atPath: DeployFiles.url(source).path),
                    "COPY \(source): not in the repository")
            }
        }
    }

    /// The package of Debian bookworm that provides each shared library llmgw may link, and those
    /// `debian:bookworm-slim` already has.
    static let packages = [
        "libcurl.so.4": "libcurl4", "liblmdb.so.0": "liblmdb0", "libhiredis.so.0.14": "libhiredis0.14",
        "libc.so.6": "libc6", "libm.so.6": "libc6",
        "libdl.so.2": "libc6", "libpthread.so.0": "libc6", "librt.so.1": "libc6", "libutil.so.1": "libc6",
        "ld-linux-x86-64.so.2": "libc6", "ld-linux-aarch64.so.1": "libc6", "libstdc++.so.6": "libstdc++6",
        "libgcc_s.so.1": "libgcc-s1", "libz.so.1": "zlib1g",
    ]
    static let inBaseImage: Set<String> = ["libc6", "libstdc++6", "libgcc-s1", "zlib1g"]

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf")))
    func theRuntimeStageInstallsWhatTheBinaryLinks() async throws {
        let binary = try GatewayBinary.url("llmgw").path
        let dynamic = try await DeployFiles.run("/usr/bin/readelf", ["-d", binary])
        #expect(dynamic.status == 0, "\(dynamic.output)")
        // The direct dependencies; what they need in turn comes with their packages.
        let needed = dynamic.output.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]")
            else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        #expect(needed.contains("libcurl.so.4"))
        #expect(needed.contains("liblmdb.so.0"))
        // Where each resolves on this machine: the Swift runtime's own libraries (a debug build
        // links them dynamically) are in the toolchain, and the image links them statically.
        let resolved = try await DeployFiles.run("/usr/bin/ldd", [binary])
        #expect(!resolved.output.contains("not found"), "\(resolved.output)")
        let swiftRuntime = Set(
            resolved.output.split(separator: "\n").compactMap { line -> String? in
                let parts = line.split(separator: " ")
                guard parts.count >= 3, parts[1] == "=>", parts[2].contains("/swift/") else { return nil }
                return parts[0].trimmingCharacters(in: .whitespaces)
            })
        let runtime = try #require(try dockerfile().stages.last)
        let installed = Dockerfile.installedPackages(runtime).union(Self.inBaseImage)
        for library in needed where !swiftRuntime.contains(library) {
            guard let package = Self.packages[library] else {
                Issue.record("llmgw links \(library): add its bookworm package to the table and the Dockerfile")
                continue
            }
            #expect(installed.contains(package), "\(library) needs \(package) in the runtime stage")
        }
    }
}
