/// Turns the YAML tree into a `GatewayConfiguration`, one section at a time. Every section starts
/// from the model's defaults and overrides what the file sets.
enum ConfigurationLoader {
    static let sections = [
        "listen", "state", "auth", "providers", "cache", "timeouts", "models", "log", "limits", "retry", "circuit",
        "metrics", "callers", "admin", "responses", "guardrails", "shared",
    ]

    static func configuration(_ root: ConfigReader) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        root.mapping { root in
            root.expectOnly(sections)
            root.section("listen") { configuration.listen = listen($0) }
            root.section("state") { state in
                state.expectOnly([
                    "path", "map_size", "durability", "mode", "lock_timeout", "max_readers", "usage_retention",
                ])
                configuration.state.path = state.string("path") ?? configuration.state.path
                configuration.state.mapSizeBytes = state.size("map_size") ?? configuration.state.mapSizeBytes
                if configuration.state.mapSizeBytes < 1 << 20 || configuration.state.mapSizeBytes > 1 << 44 {
                    state.child("map_size")?.fail("must be from 1MiB to 16TiB")
                }
                configuration.state.durability =
                    state.choice("durability", as: StateConfiguration.Durability.self) ?? configuration.state.durability
                configuration.state.fileMode = state.fileMode("mode") ?? configuration.state.fileMode
                if let timeout = state.duration("lock_timeout") {
                    if timeout < .milliseconds(1) || timeout > .seconds(60) {
                        state.child("lock_timeout")?.fail("must be from 1ms to 60s")
                    }
                    configuration.state.lockTimeout = timeout
                }
                configuration.state.maxReaders =
                    state.int("max_readers", in: 16...65_536) ?? configuration.state.maxReaders
                if let retention = state.duration("usage_retention") {
                    if retention < .seconds(86_400) || retention > .seconds(100 * 365 * 86_400) {
                        state.child("usage_retention")?.fail("must be from 1d to 100 years")
                    }
                    configuration.state.usageRetention = retention
                }
            }
            root.section("retry") { configuration.retry = retry($0) }
            root.section("circuit") { circuit in
                circuit.expectOnly(["failures", "window", "cooldown"])
                configuration.circuit.failures = circuit.int("failures", in: 1...1000) ?? configuration.circuit.failures
                configuration.circuit.window = circuit.duration("window") ?? configuration.circuit.window
                configuration.circuit.cooldown = circuit.duration("cooldown") ?? configuration.circuit.cooldown
            }
            root.section("limits") { limits in
                limits.expectOnly(["on_store_error"])
                configuration.limits.onStoreError =
                    limits.choice("on_store_error", as: LimitsConfiguration.OnStoreError.self)
                    ?? configuration.limits.onStoreError
            }
            root.section("auth") { auth in
                auth.expectOnly(["mode", "peer"])
                configuration.auth.mode =
                    auth.choice("mode", as: AuthConfiguration.Mode.self) ?? configuration.auth.mode
                auth.section("peer") { peer in
                    peer.expectOnly(["allow_uids", "allow_gids"])
                    configuration.auth.peerAllowedUIDs = ids(peer, "allow_uids")
                    configuration.auth.peerAllowedGIDs = ids(peer, "allow_gids")
                }
            }
            configuration.providers = providers(root)
            root.section("cache") { cache in
                cache.expectOnly(["enabled", "ttl", "shared", "max_bytes", "semantic"])
                configuration.cache.enabled = cache.bool("enabled") ?? configuration.cache.enabled
                configuration.cache.ttl = cache.duration("ttl") ?? configuration.cache.ttl
                configuration.cache.shared = cache.bool("shared") ?? configuration.cache.shared
                configuration.cache.maxBytes = cache.size("max_bytes") ?? configuration.cache.maxBytes
                cache.section("semantic") { configuration.cache.semantic = semanticCache($0) }
            }
            root.section("responses") { responses in
                responses.expectOnly(["store", "ttl", "max_bytes"])
                configuration.responses.store = responses.bool("store") ?? configuration.responses.store
                configuration.responses.ttl = responses.duration("ttl") ?? configuration.responses.ttl
                configuration.responses.maxBytes = responses.size("max_bytes") ?? configuration.responses.maxBytes
            }
            root.section("timeouts") { configuration.timeouts = TimeoutConfiguration().applying(timeouts($0)) }
            configuration.guardrails = guardrails(root)
            configuration.models = models(root, providers: declaredProviderNames(root))
            configuration.callers = callers(
                root, models: Set(configuration.models.map(\.name)), mode: configuration.auth.mode)
            validateSemanticCache(root, configuration)
            validateClassifierGuardrails(root, configuration)
            root.section("log") { configuration.log = log($0) }
            root.section("admin") { section in
                let admin = admin(section)
                if let socket = admin.socket, socket == configuration.listen.socket {
                    section.child("socket")?.fail("the admin socket must differ from listen.socket")
                }
                if let tcp = admin.tcp, tcp == configuration.listen.tcp {
                    section.child("tcp")?.fail("the admin address must differ from listen.tcp")
                }
                configuration.admin = admin
            }
            root.section("shared") { configuration.shared = shared($0) }
            root.section("metrics") { metrics in
                metrics.expectOnly(["enabled"])
                configuration.metrics.enabled = metrics.bool("enabled")
            }
            root.require("models", hint: "at least one model")
        }
        return configuration
    }

    static func listen(_ reader: ConfigReader) -> ListenConfiguration {
        reader.expectOnly([
            "socket", "socket_mode", "tcp", "max_body_bytes", "read_timeout", "idle_timeout", "drain_timeout",
            "socket_group", "max_connections", "max_in_flight", "max_header_bytes", "write_timeout",
            "allowed_origins",
        ])
        var listen = ListenConfiguration()
        listen.socket = socketPath(reader) ?? listen.socket
        listen.socketMode = socketMode(reader) ?? listen.socketMode
        if let address = reader.value(
            "tcp", expected: "HOST:PORT (e.g. 127.0.0.1:4000 or [::1]:4000)", ConfigurationValue.hostAndPort)
        {
            if ConfigurationValue.isLoopback(address.host) {
                listen.tcp = address
            } else {
                reader.child("tcp")?.fail(
                    "\(address.host) is not a loopback address (use 127.0.0.0/8, ::1 or localhost)")
            }
        }
        listen.maxBodyBytes = reader.size("max_body_bytes") ?? listen.maxBodyBytes
        listen.readTimeout = reader.duration("read_timeout") ?? listen.readTimeout
        listen.idleTimeout = reader.duration("idle_timeout") ?? listen.idleTimeout
        listen.drainTimeout = reader.duration("drain_timeout") ?? listen.drainTimeout
        listen.socketGroup = reader.string("socket_group")
        listen.maxConnections = reader.int("max_connections", in: 1...1_000_000) ?? listen.maxConnections
        listen.maxInFlight = reader.int("max_in_flight", in: 1...1_000_000) ?? listen.maxInFlight
        if let size = reader.size("max_header_bytes") {
            if (1024...(1 << 20)).contains(size) {
                listen.maxHeaderBytes = size
            } else {
                reader.child("max_header_bytes")?.fail("must be from 1KiB to 1MiB")
            }
        }
        listen.writeTimeout = reader.duration("write_timeout") ?? listen.writeTimeout
        reader.list("allowed_origins") { _, item in
            if let origin = item.scalarText(expected: "an origin like http://localhost:3000") {
                listen.allowedOrigins.append(origin.lowercased())
            }
        }
        return listen
    }

    static func admin(_ reader: ConfigReader) -> AdminConfiguration {
        reader.expectOnly(["socket", "socket_mode", "socket_group", "tcp"])
        var admin = AdminConfiguration()
        admin.socket = socketPath(reader)
        admin.socketMode = socketMode(reader) ?? admin.socketMode
        admin.socketGroup = reader.string("socket_group")
        admin.tcp = reader.value(
            "tcp", expected: "HOST:PORT (e.g. 127.0.0.1:9464 or 0.0.0.0:9464)", ConfigurationValue.hostAndPort)
        if !reader.has("socket") && !reader.has("tcp") {
            reader.fail("admin needs a socket, a tcp address, or both")
        }
        return admin
    }

    /// `socket` of `listen` or `admin`: a path that fits sockaddr_un.sun_path (108 bytes with the NUL).
    static func socketPath(_ reader: ConfigReader) -> String? {
        guard let socket = reader.string("socket") else { return nil }
        guard socket.utf8.count <= 107 else {
            reader.child("socket")?.fail("socket paths are limited to 107 bytes")
            return nil
        }
        return socket
    }

    static func socketMode(_ reader: ConfigReader) -> UInt32? {
        reader.value("socket_mode", expected: "octal permission bits like 0660", ConfigurationValue.socketMode)
    }

    /// A list of numeric user or group ids.
    static func ids(_ reader: ConfigReader, _ key: String) -> [UInt32] {
        var ids: [UInt32] = []
        reader.list(key) { _, item in
            guard let text = item.scalarText(expected: "a numeric id") else { return }
            if let id = UInt32(text) { ids.append(id) } else { item.fail("expected a numeric id") }
        }
        return ids
    }

    static func retry(_ reader: ConfigReader) -> RetryPolicy {
        reader.expectOnly([
            "attempts_per_target", "max_attempts", "backoff", "backoff_max", "retry_after_cap", "deadline",
        ])
        var policy = RetryPolicy()
        policy.attemptsPerTarget = reader.int("attempts_per_target", in: 1...10) ?? policy.attemptsPerTarget
        policy.maxAttempts = reader.int("max_attempts", in: 1...50) ?? policy.maxAttempts
        policy.backoff = reader.duration("backoff") ?? policy.backoff
        policy.backoffMax = reader.duration("backoff_max") ?? policy.backoffMax
        policy.retryAfterCap = reader.duration("retry_after_cap") ?? policy.retryAfterCap
        policy.deadline = reader.duration("deadline") ?? policy.deadline
        return policy
    }

    /// `timeouts` at the top level and under each provider: only the keys that are set.
    static func timeouts(_ reader: ConfigReader) -> TimeoutOverrides {
        reader.expectOnly(["connect", "first_byte", "idle", "total"])
        return TimeoutOverrides(
            connect: reader.duration("connect"),
            firstByte: reader.duration("first_byte"),
            idle: reader.duration("idle"),
            total: reader.duration("total")
        )
    }

    /// Levels of swift-log, which the executable maps `log.level` onto.
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    static func log(_ reader: ConfigReader) -> LogConfiguration {
        reader.expectOnly(["level", "include_bodies", "queue_bytes", "core_dumps", "file", "file_mode"])
        var log = LogConfiguration()
        if let level = reader.string("level") {
            if logLevels.contains(level) {
                log.level = level
            } else {
                let valid = logLevels.joined(separator: ", ")
                reader.child("level")?.fail("unknown value \"\(level)\" (expected one of: \(valid))")
            }
        }
        log.includeBodies = reader.bool("include_bodies") ?? log.includeBodies
        log.queueBytes = reader.size("queue_bytes") ?? log.queueBytes
        log.coreDumps = reader.bool("core_dumps") ?? log.coreDumps
        log.file = reader.string("file")
        if let file = log.file, file.hasSuffix("/") { reader.child("file")?.fail("must name a file, not a directory") }
        log.fileMode = reader.fileMode("file_mode") ?? log.fileMode
        return log
    }
}
