import GatewayCore
import Testing

@Suite struct ConfigurationValueTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("30s", .seconds(30)),
        ("5m", .seconds(300)),
        ("1h", .seconds(3600)),
        ("1d", .seconds(86400)),
        ("30", .seconds(30)),
        ("0", .zero),
        ("1.5s", .milliseconds(1500)),
        ("0.25", .milliseconds(250)),
        (" 10s ", .seconds(10)),
    ])
    func durations(_ text: String, _ expected: Duration) {
        #expect(ConfigurationValue.duration(text) == expected)
    }

    @Test(arguments: [
        "", "s", "ms", "-1s", "10 s", "1w", "1h30m", "0x10s", "1e3", "inf", ".5s", "5.s", "1..5s", "soon",
    ])
    func badDurations(_ text: String) {
        #expect(ConfigurationValue.duration(text) == nil)
    }

    @Test(arguments: [
        ("10MiB", 10 * 1024 * 1024),
        ("512KiB", 512 * 1024),
        ("1GiB", 1 << 30),
        ("1MB", 1_000_000),
        ("2KB", 2000),
        ("3GB", 3_000_000_000),
        ("100B", 100),
        ("4096", 4096),
        ("10 MiB", 10 * 1024 * 1024),
    ])
    func sizes(_ text: String, _ expected: Int) {
        #expect(ConfigurationValue.size(text) == expected)
    }

    @Test(arguments: [
        "", "0", "-1", "0MiB", "1.5MiB", "10mib", "10 megs", "MiB", "99999999999999999999", "9999999999999GiB",
    ])
    func badSizes(_ text: String) {
        #expect(ConfigurationValue.size(text) == nil)
    }

    @Test func sizesAndDurationsInTheFile() throws {
        let yaml = "listen:\n  max_body_bytes: 1MB\n  read_timeout: 45\n" + smallestConfiguration
        let listen = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml").listen
        #expect(listen.maxBodyBytes == 1_000_000)
        #expect(listen.readTimeout == .seconds(45))
    }

    @Test(arguments: [
        ("0660", UInt32(0o660)), ("660", 0o660), ("0o660", 0o660), ("0600", 0o600), ("0777", 0o777), ("0", 0),
    ])
    func socketModes(_ text: String, _ expected: UInt32) {
        #expect(ConfigurationValue.socketMode(text) == expected)
    }

    @Test(arguments: ["", "0o", "0990", "1777", "0x1b0", "rw-rw----", "-660"])
    func badSocketModes(_ text: String) {
        #expect(ConfigurationValue.socketMode(text) == nil)
    }

    @Test(arguments: [
        ("127.0.0.1:4000", "127.0.0.1", 4000),
        ("localhost:80", "localhost", 80),
        ("[::1]:4000", "::1", 4000),
        ("10.0.0.1:4000", "10.0.0.1", 4000),
    ])
    func hostsAndPorts(_ text: String, _ host: String, _ port: Int) {
        #expect(ConfigurationValue.hostAndPort(text) == HostAndPort(host: host, port: port))
    }

    @Test(arguments: [
        "4000", "127.0.0.1", "127.0.0.1:", ":4000", "127.0.0.1:0", "127.0.0.1:65536", "::1:4000",
        "[::1]4000", "[::1]", "127.0.0.1:40a0", "127.0.0.1:+80",
    ])
    func badHostsAndPorts(_ text: String) {
        #expect(ConfigurationValue.hostAndPort(text) == nil)
    }

    @Test func loopbackAddresses() {
        for host in ["127.0.0.1", "127.255.1.2", "localhost", "::1"] {
            #expect(ConfigurationValue.isLoopback(host), "\(host)")
        }
        for host in [
            "0.0.0.0", "10.0.0.1", "128.0.0.1", "::", "example.com", "127.0.0", "127.0.0.256", "localhost.evil",
        ] {
            #expect(!ConfigurationValue.isLoopback(host), "\(host)")
        }
    }

    @Test func baseURLs() {
        #expect(ConfigurationValue.baseURL("https://api.openai.com/v1/") == "https://api.openai.com/v1")
        #expect(ConfigurationValue.baseURL("http://localhost:8000") == "http://localhost:8000")
        #expect(ConfigurationValue.baseURL("http://[::1]:8000/v1") == "http://[::1]:8000/v1")
        #expect(ConfigurationValue.baseURL("https://host/") == "https://host")
        for bad in ["ftp://host", "https://", "https:///v1", "api.openai.com", "https://ho st", "http://:80/"] {
            #expect(ConfigurationValue.baseURL(bad) == nil, "\(bad)")
        }
    }

    @Test func providerNames() {
        for name in ["openai", "azure-eu", "local_vllm", "v1.2", "A9"] {
            #expect(ConfigurationValue.isProviderName(name), "\(name)")
        }
        for name in ["", "bad name", "a/b", "ümlaut", "a:b"] {
            #expect(!ConfigurationValue.isProviderName(name), "\(name)")
        }
    }
}

@Suite struct ConfigurationValueBoundsTests {
    @Test func durationsStopAtTheMaximum() {
        #expect(ConfigurationValue.duration("3650d") == ConfigurationValue.maximumDuration)
        #expect(ConfigurationValue.duration("3651d") == nil)
        #expect(ConfigurationValue.exceedsMaximumDuration("3651d"))
        #expect(ConfigurationValue.duration("1" + String(repeating: "0", count: 400) + "s") == nil)
        #expect(!ConfigurationValue.exceedsMaximumDuration("soon"))
    }

    @Test func sizesStopAtTheMaximum() {
        #expect(ConfigurationValue.size("1024GiB") == ConfigurationValue.maximumSize)
        #expect(ConfigurationValue.size("1025GiB") == nil)
        #expect(ConfigurationValue.exceedsMaximumSize("1025GiB"))
        #expect(ConfigurationValue.exceedsMaximumSize("99999999999999999999"))
        #expect(!ConfigurationValue.exceedsMaximumSize("ten"))
    }
}

@Suite struct ConfigurationNumberBoundsTests {
    private func errors(target: String) -> String {
        renderedErrors(
            "providers:\n  openai: { kind: openai }\nmodels:\n  - name: smart\n    targets: [{ provider: openai, model: m, \(target) }]\n"
        )
    }

    @Test func absurdWeightsAndPricesAreRefusedWithTheirPath() {
        #expect(
            errors(target: "weight: 1e308").contains("models[0].targets[0].weight: expected a positive number up to"))
        #expect(errors(target: "weight: .inf").contains("weight"))
        #expect(errors(target: "price: { input: 1e300 }").contains("models[0].targets[0].price.input"))
        #expect(errors(target: "rpm: 9223372036854775807").contains("models[0].targets[0].rpm"))
        #expect(errors(target: "weight: 3, price: { input: 2.5, output: 10 }").isEmpty)
    }
}
