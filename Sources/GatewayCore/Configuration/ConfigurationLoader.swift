import Yams

#if canImport(Glibc)
    import Glibc
#endif

extension GatewayConfiguration {
    /// Reads and validates the YAML file at `path`.
    public static func load(contentsOf path: String) throws(ConfigurationErrors) -> GatewayConfiguration {
        guard let text = readTextFile(path) else {
            throw ConfigurationErrors(
                source: path,
                errors: [ConfigurationError(path: "", line: nil, message: "cannot read the file")]
            )
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses and validates YAML text; `source` names it in error messages.
    public static func parse(yaml: String, source: String) throws(ConfigurationErrors) -> GatewayConfiguration {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ConfigurationErrors(
                    source: source,
                    errors: [ConfigurationError(path: "", line: nil, message: "the file is empty")]
                )
            }
            root = composed
        } catch let error as ConfigurationErrors {
            throw error
        } catch {
            throw ConfigurationErrors(source: source, errors: [Self.yamlError(error)])
        }
        let reader = ConfigurationReader()
        let configuration = ConfigurationLoader(reader: reader).configuration(root)
        guard reader.errors.isEmpty else { throw ConfigurationErrors(source: source, errors: reader.errors) }
        return configuration
    }

    private static func yamlError(_ error: any Error) -> ConfigurationError {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                return ConfigurationError(path: "", line: mark.line, message: "invalid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                return ConfigurationError(
                    path: "",
                    line: context.mark.line,
                    message: "duplicate key \(duplicates.joined(separator: ", "))"
                )
            default:
                break
            }
        }
        return ConfigurationError(path: "", line: nil, message: "invalid YAML: \(error)")
    }
}

/// Reads a whole text file without Foundation; nil when it cannot be read.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count > 0 { bytes.append(contentsOf: buffer[..<count]) }
        if count < buffer.count {
            if ferror(file) != 0 { return nil }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Turns the YAML tree into a `GatewayConfiguration`, one section at a time.
struct ConfigurationLoader {
    let reader: ConfigurationReader

    func configuration(_ root: Node) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        guard let entries = reader.mapping(root, "") else { return configuration }
        reader.expectOnly(entries, ["listen", "state", "auth", "providers", "cache", "timeouts", "models", "log"], "")
        for (key, node) in entries {
            switch key {
            case "listen": configuration.listen = listen(node)
            case "state": configuration.state = state(node)
            case "auth": configuration.auth = auth(node)
            case "providers": configuration.providers = providers(node)
            case "cache": configuration.cache = cache(node)
            case "timeouts": configuration.timeouts = TimeoutConfiguration().applying(timeouts(node, "timeouts"))
            case "models": configuration.models = models(node, providers: configuration.providers)
            case "log": configuration.log = log(node)
            default: break
            }
        }
        if !entries.contains(where: { $0.key == "models" }) {
            reader.fail("models", nil, "required: at least one model")
        }
        // Models may come before providers in the file: check references once both are read.
        if let modelsEntry = entries.first(where: { $0.key == "models" }),
            entries.contains(where: { $0.key == "providers" })
        {
            checkTargets(modelsEntry.node, providers: configuration.providers)
        }
        return configuration
    }

    private func listen(_ node: Node) -> ListenConfiguration {
        var listen = ListenConfiguration()
        guard let entries = reader.mapping(node, "listen") else { return listen }
        reader.expectOnly(
            entries,
            ["socket", "socket_mode", "tcp", "max_body_bytes", "read_timeout", "idle_timeout", "drain_timeout"],
            "listen"
        )
        for (key, value) in entries {
            let path = "listen.\(key)"
            switch key {
            case "socket":
                if let socket = reader.nonEmptyString(value, path) {
                    if socket.utf8.count >= 108 {
                        reader.fail(path, value, "socket paths are limited to 107 bytes")
                    } else {
                        listen.socket = socket
                    }
                }
            case "socket_mode":
                let text = value.scalar?.string ?? ""
                let digits = text.hasPrefix("0o") ? String(text.dropFirst(2)) : text
                if let mode = UInt32(digits, radix: 8), mode <= 0o777 {
                    listen.socketMode = mode
                } else {
                    reader.fail(path, value, "expected octal permission bits like \"0660\"")
                }
            case "tcp":
                if let text = reader.string(value, path) {
                    if let address = Self.hostAndPort(text) {
                        if Self.isLoopback(address.host) {
                            listen.tcp = address
                        } else {
                            reader.fail(
                                path, value, "\(address.host) is not a loopback address (127.0.0.0/8, ::1, localhost)")
                        }
                    } else {
                        reader.fail(path, value, "expected HOST:PORT, e.g. 127.0.0.1:4000 or [::1]:4000")
                    }
                }
            case "max_body_bytes": listen.maxBodyBytes = reader.size(value, path) ?? listen.maxBodyBytes
            case "read_timeout": listen.readTimeout = reader.duration(value, path) ?? listen.readTimeout
            case "idle_timeout": listen.idleTimeout = reader.duration(value, path) ?? listen.idleTimeout
            case "drain_timeout": listen.drainTimeout = reader.duration(value, path) ?? listen.drainTimeout
            default: break
            }
        }
        return listen
    }

    private func state(_ node: Node) -> StateConfiguration {
        var state = StateConfiguration()
        guard let entries = reader.mapping(node, "state") else { return state }
        reader.expectOnly(entries, ["path"], "state")
        for (key, value) in entries where key == "path" {
            state.path = reader.nonEmptyString(value, "state.path") ?? state.path
        }
        return state
    }

    private func auth(_ node: Node) -> AuthConfiguration {
        var auth = AuthConfiguration()
        guard let entries = reader.mapping(node, "auth") else { return auth }
        reader.expectOnly(entries, ["mode"], "auth")
        for (key, value) in entries where key == "mode" {
            auth.mode = reader.choice(value, "auth.mode", as: AuthConfiguration.Mode.self) ?? auth.mode
        }
        return auth
    }

    private func cache(_ node: Node) -> CacheConfiguration {
        var cache = CacheConfiguration()
        guard let entries = reader.mapping(node, "cache") else { return cache }
        reader.expectOnly(entries, ["enabled", "ttl"], "cache")
        for (key, value) in entries {
            switch key {
            case "enabled": cache.enabled = reader.bool(value, "cache.enabled") ?? cache.enabled
            case "ttl": cache.ttl = reader.duration(value, "cache.ttl") ?? cache.ttl
            default: break
            }
        }
        return cache
    }

    func timeouts(_ node: Node, _ path: String) -> TimeoutOverrides {
        var overrides = TimeoutOverrides()
        guard let entries = reader.mapping(node, path) else { return overrides }
        reader.expectOnly(entries, ["connect", "first_byte", "idle", "total"], path)
        for (key, value) in entries {
            let duration = reader.duration(value, "\(path).\(key)")
            switch key {
            case "connect": overrides.connect = duration
            case "first_byte": overrides.firstByte = duration
            case "idle": overrides.idle = duration
            case "total": overrides.total = duration
            default: break
            }
        }
        return overrides
    }

    private func log(_ node: Node) -> LogConfiguration {
        var log = LogConfiguration()
        guard let entries = reader.mapping(node, "log") else { return log }
        reader.expectOnly(entries, ["level", "include_bodies"], "log")
        for (key, value) in entries {
            switch key {
            case "level":
                if let level = reader.string(value, "log.level") {
                    if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) {
                        log.level = level
                    } else {
                        reader.fail(
                            "log.level", value, "unknown level \"\(level)\" (expected debug, info, warning or error)")
                    }
                }
            case "include_bodies": log.includeBodies = reader.bool(value, "log.include_bodies") ?? log.includeBodies
            default: break
            }
        }
        return log
    }

    static func hostAndPort(_ text: String) -> HostAndPort? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        return HostAndPort(host: String(host), port: port)
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
