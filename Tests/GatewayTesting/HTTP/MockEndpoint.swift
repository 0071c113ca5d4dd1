import MockProvider

extension MockProviderServer {
    /// Where the mock listens: its Unix socket, or its loopback TCP port.
    public var endpoint: TestEndpoint { socketPath.map(TestEndpoint.unix) ?? .loopback(port: port ?? 0) }
}
