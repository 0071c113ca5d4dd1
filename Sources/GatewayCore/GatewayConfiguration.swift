/// The whole gateway configuration, decoded and validated once at start (and again on SIGHUP).
/// Every value here is typed: durations are `Duration`, sizes are bytes, secrets are references
/// that are resolved separately (see `SecretReference`).
public struct GatewayConfiguration: Sendable, Equatable {
    public var listen: ListenConfiguration
    public var state: StateConfiguration
    public var auth: AuthConfiguration
    /// Providers by their name in the config (`openai`, `claude`, …), in file order.
    public var providers: [ProviderConfiguration]
    public var cache: CacheConfiguration
    public var timeouts: TimeoutConfiguration
    public var models: [ModelConfiguration]
    public var log: LogConfiguration
    public var limits: LimitsConfiguration = .init()
    public var retry: RetryPolicy = .init()
    public var circuit: CircuitPolicy = .init()
    public var metrics: MetricsConfiguration = .init()
    /// `callers:`: local processes identified by their Unix-socket credentials, each with its own
    /// limits, budget and models (`auth.mode: peer`, `keys_or_peer`, or `none`).
    public var callers: [CallerConfiguration] = []
    /// `admin:`: a listener of its own for `/metrics`, `/healthz` and `/readyz`, so that the apps
    /// on the data socket need not see the figures; nil serves them on the data listeners.
    public var admin: AdminConfiguration?
    /// The store of Responses answers (`responses:`), for `previous_response_id` and
    /// `GET`/`DELETE /v1/responses/{id}`.
    public var responses: ResponsesConfiguration = .init()
    /// `guardrails:`: the named checks models may apply (docs/guardrails.md).
    public var guardrails: [GuardrailConfiguration] = []
    /// `shared:`: limits, budgets and spend across hosts through Redis; nil keeps them per host.
    public var shared: SharedConfiguration?

    public init(
        listen: ListenConfiguration = .init(),
        state: StateConfiguration = .init(),
        auth: AuthConfiguration = .init(),
        providers: [ProviderConfiguration] = [],
        cache: CacheConfiguration = .init(),
        timeouts: TimeoutConfiguration = .init(),
        models: [ModelConfiguration] = [],
        log: LogConfiguration = .init()
    ) {
        self.listen = listen
        self.state = state
        self.auth = auth
        self.providers = providers
        self.cache = cache
        self.timeouts = timeouts
        self.models = models
        self.log = log
    }

    public func provider(named name: String) -> ProviderConfiguration? {
        providers.first { $0.name == name }
    }

    public func model(named name: String) -> ModelConfiguration? {
        models.first { $0.name == name }
    }
}

public struct ListenConfiguration: Sendable, Equatable {
    /// Unix socket path (`listen.socket`).
    public var socket: String
    /// Permission bits of the socket file (`listen.socket_mode`, octal in YAML, default 0660).
    public var socketMode: UInt32
    /// Optional loopback TCP listener (`listen.tcp`, `HOST:PORT`).
    public var tcp: HostAndPort?
    /// Largest request body accepted (`listen.max_body_bytes`, default 10 MiB); larger is a 413.
    public var maxBodyBytes: Int
    /// Time allowed to receive a whole request once it has started (`listen.read_timeout`).
    public var readTimeout: Duration
    /// Time an idle keep-alive connection is kept open (`listen.idle_timeout`).
    public var idleTimeout: Duration
    /// On SIGTERM, how long in-flight requests may run before they are cut (`listen.drain_timeout`).
    public var drainTimeout: Duration
    /// Group the socket file is given (`listen.socket_group`, a name or a number); nil keeps the process's.
    public var socketGroup: String?
    /// Open client connections at most (`listen.max_connections`); more are answered 503 and closed.
    public var maxConnections = 1024
    /// Requests being served at once at most, over every connection (`listen.max_in_flight`); more get 503.
    public var maxInFlight = 512
    /// Largest request head, request line and headers together (`listen.max_header_bytes`); larger is a 431.
    public var maxHeaderBytes = 64 * 1024
    /// Longest a response write may wait for a client that does not read (`listen.write_timeout`).
    public var writeTimeout: Duration = .seconds(30)
    /// Browser origins allowed on the TCP listener (`listen.allowed_origins`); requests with any other
    /// `Origin` are refused.
    public var allowedOrigins: [String] = []

    public init(
        socket: String = "/run/llmgw.sock",
        socketMode: UInt32 = 0o660,
        tcp: HostAndPort? = nil,
        maxBodyBytes: Int = 10 * 1024 * 1024,
        readTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(75),
        drainTimeout: Duration = .seconds(30)
    ) {
        self.socket = socket
        self.socketMode = socketMode
        self.tcp = tcp
        self.maxBodyBytes = maxBodyBytes
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.drainTimeout = drainTimeout
    }
}

public struct HostAndPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct StateConfiguration: Sendable, Equatable {
    public enum Durability: String, Sendable, CaseIterable {
        /// Volatile data (cache, counters, circuits) is not synced per commit and is wiped after a
        /// machine crash; durable data (keys, teams, spend) is synced (`docs/design.md`).
        case relaxed
        /// Every commit of every database is synced.
        case full
    }

    /// The LMDB environment directory shared by every sidecar on the host (`state.path`).
    public var path: String
    /// The LMDB map size (`state.map_size`, default 32 GiB): the most the state can ever hold.
    /// Only address space: the file grows with the data. Sidecars may differ; the largest wins.
    public var mapSizeBytes: Int
    public var durability: Durability
    /// Mode of the state files (`state.mode`, default 0600: owner only); the directories get the
    /// matching search bits. Every sidecar of a host should run as one uid.
    public var fileMode: Int
    /// Longest wait for the shared state (`state.lock_timeout`, default 500ms); past it,
    /// `limits.on_store_error` decides (a peer stopped while holding the writer lock).
    public var lockTimeout: Duration
    /// Reader slots of the environment (`state.max_readers`, default 1024); the first opener
    /// sizes the table, each sidecar uses at most three.
    public var maxReaders: Int
    /// How long daily usage lines are kept (`state.usage_retention`, default 400d).
    public var usageRetention: Duration

    public init(
        path: String = "/var/lib/llmgw",
        mapSizeBytes: Int = 32 << 30,
        durability: Durability = .relaxed,
        fileMode: Int = 0o600,
        lockTimeout: Duration = .milliseconds(500),
        maxReaders: Int = 1024,
        usageRetention: Duration = .seconds(400 * 86_400)
    ) {
        self.path = path
        self.mapSizeBytes = mapSizeBytes
        self.durability = durability
        self.fileMode = fileMode
        self.lockTimeout = lockTimeout
        self.maxReaders = maxReaders
        self.usageRetention = usageRetention
    }
}

/// `limits`: how admission behaves when the shared state fails.
public struct LimitsConfiguration: Sendable, Equatable {
    public enum OnStoreError: String, Sendable, CaseIterable {
        case allow, deny
    }

    public var onStoreError: OnStoreError

    public init(onStoreError: OnStoreError = .allow) {
        self.onStoreError = onStoreError
    }
}

public struct AuthConfiguration: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case none, keys, peer
        /// A presented virtual key is checked (and never falls back); without one, the peer must
        /// be a declared caller.
        case keysOrPeer = "keys_or_peer"

        /// Whether a request may present a virtual key.
        public var acceptsKeys: Bool { self == .keys || self == .keysOrPeer }
    }

    public var mode: Mode
    /// `auth.peer.allow_uids` / `allow_gids`: with `mode: peer`, callers whose uid or gid is listed are
    /// served and others get 403. Both empty: every local peer is served (identified, not authorized).
    public var peerAllowedUIDs: [UInt32] = []
    public var peerAllowedGIDs: [UInt32] = []

    public init(mode: Mode = .none) {
        self.mode = mode
    }
}

/// Where a provider key comes from: `env:NAME`, `file:PATH` or a literal. The value itself is never
/// kept in the configuration and never printed; `description` names only the source.
public enum SecretReference: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    case environment(String)
    case file(String)
    case literal(String)

    public init(parsing text: String) {
        if text.hasPrefix("env:") {
            self = .environment(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:") {
            self = .file(String(text.dropFirst(5)))
        } else {
            self = .literal(text)
        }
    }

    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        case .literal: "<literal>"
        }
    }

    public var debugDescription: String { description }
    /// Keeps a literal key out of `dump` and reflection-based printing of the configuration.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .enum) }
}

/// The wire dialect a provider speaks. `openai` covers every OpenAI-compatible server; `vertex` is
/// Google Vertex AI (Gemini and Claude models, OAuth2 tokens: see `VertexConfiguration`).
public enum ProviderKind: String, Sendable, CaseIterable {
    case openai, anthropic, gemini, azure, vertex
    /// AWS Bedrock Runtime, Converse API (SigV4 or a Bedrock API key).
    case bedrock
}

public struct ProviderConfiguration: Sendable, Equatable {
    /// The provider's name in the config (`openai`, `claude`); shown in `x-llmgw-provider` and logs.
    public var name: String
    public var kind: ProviderKind
    /// Base URL as the provider documents it (`https://api.openai.com/v1`).
    public var baseURL: String
    public var apiKey: SecretReference?
    /// Azure `api-version` (required for `kind: azure`).
    public var apiVersion: String?
    /// Reach the provider through this Unix socket instead of TCP (a local vLLM, the offline mock).
    public var unixSocket: String?
    /// An explicit HTTP(S) proxy (`proxy:`). Environment proxies (`https_proxy`, …) are never used.
    public var proxy: String?
    /// Per-provider timeouts; unset fields fall back to the global `timeouts`.
    public var timeouts: TimeoutOverrides
    /// `raw_stream` (Azure): relay Azure's stream byte for byte to OpenAI clients, its
    /// `choices: []` annotation chunk included; off, chunks look like OpenAI's.
    public var rawStream = false
    /// `auto_cache_control` (Anthropic): put prompt-cache breakpoints on the system prompt and the
    /// tools of requests that set none (`AnthropicPromptCache`).
    public var autoCacheControl = false
    /// `kind: vertex` only: project, location, publisher and credentials.
    public var vertex: VertexConfiguration?
    /// `kind: bedrock`: region and AWS credential sources.
    public var aws: AWSProviderConfiguration?

    public init(
        name: String,
        kind: ProviderKind,
        baseURL: String,
        apiKey: SecretReference? = nil,
        apiVersion: String? = nil,
        unixSocket: String? = nil,
        proxy: String? = nil,
        timeouts: TimeoutOverrides = .init()
    ) {
        self.name = name
        self.proxy = proxy
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.unixSocket = unixSocket
        self.timeouts = timeouts
    }
}

public struct CacheConfiguration: Sendable, Equatable {
    public var enabled: Bool
    public var ttl: Duration
    /// One cache for every caller (`true`) or one namespace per caller (default).
    public var shared: Bool
    /// Size cap of the cache in the shared state; the oldest entries are evicted past it.
    public var maxBytes: Int
    /// `cache.semantic`: hits for prompts that mean the same.
    public var semantic: SemanticCacheConfiguration

    public init(
        enabled: Bool = false, ttl: Duration = .seconds(3600), shared: Bool = false, maxBytes: Int = 256 << 20,
        semantic: SemanticCacheConfiguration = .init()
    ) {
        self.enabled = enabled
        self.ttl = ttl
        self.shared = shared
        self.maxBytes = maxBytes
        self.semantic = semantic
    }
}

/// `responses:`: how long the gateway keeps Responses answers (with the items of their chain) in
/// the shared state, namespaced per caller, for `previous_response_id` on any sidecar of the host.
public struct ResponsesConfiguration: Sendable, Equatable {
    /// Answers with `store` not false are kept (`store: false` in the config keeps none).
    public var store: Bool
    public var ttl: Duration
    /// Size cap of the store; the oldest entries are evicted past it.
    public var maxBytes: Int

    public init(store: Bool = true, ttl: Duration = .seconds(30 * 86_400), maxBytes: Int = 256 << 20) {
        self.store = store
        self.ttl = ttl
        self.maxBytes = maxBytes
    }
}

/// Upstream timeouts (`timeouts.*`). Each expiry is an attempt outcome that may fail over.
public struct TimeoutConfiguration: Sendable, Equatable {
    /// TCP + TLS connect.
    public var connect: Duration
    /// From sending the request to the first response byte.
    public var firstByte: Duration
    /// Longest silence between two body chunks.
    public var idle: Duration
    /// The whole attempt.
    public var total: Duration

    public init(
        connect: Duration = .seconds(10),
        firstByte: Duration = .seconds(120),
        idle: Duration = .seconds(60),
        total: Duration = .seconds(600)
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }

    public func applying(_ overrides: TimeoutOverrides) -> TimeoutConfiguration {
        TimeoutConfiguration(
            connect: overrides.connect ?? connect,
            firstByte: overrides.firstByte ?? firstByte,
            idle: overrides.idle ?? idle,
            total: overrides.total ?? total
        )
    }
}

public struct TimeoutOverrides: Sendable, Equatable {
    public var connect: Duration?
    public var firstByte: Duration?
    public var idle: Duration?
    public var total: Duration?

    public init(connect: Duration? = nil, firstByte: Duration? = nil, idle: Duration? = nil, total: Duration? = nil) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }
}

public struct ModelConfiguration: Sendable, Equatable {
    /// What clients send as `model`.
    public var name: String
    /// Per-model override of `cache.enabled`.
    public var cache: Bool?
    /// Per-model override of `cache.semantic.enabled`.
    public var semanticCache: Bool?
    /// Tried in order (failover comes with its own strategy).
    public var targets: [TargetConfiguration]
    /// Other model names whose targets are tried, in order, after this model's.
    public var fallbacks: [String]
    /// A model with a larger context window, tried when a target says the prompt is too long.
    public var contextFallback: String?
    /// How the targets are ordered for each request.
    public var strategy: BalancingStrategy = .priority
    /// The names of the guardrails applied to this model's requests, in order.
    public var guardrails: [String] = []

    public init(
        name: String,
        cache: Bool? = nil,
        targets: [TargetConfiguration],
        fallbacks: [String] = [],
        contextFallback: String? = nil
    ) {
        self.name = name
        self.cache = cache
        self.targets = targets
        self.fallbacks = fallbacks
        self.contextFallback = contextFallback
    }
}

public struct TargetConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// A provider name from `providers`.
    public var provider: String
    /// The model name the provider knows (for Azure: the deployment).
    public var model: String
    /// The provider's own quota for this model (`rpm`, `tpm`), shared by every sidecar: a target
    /// at its quota is skipped like a failed one.
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    /// Overrides the shipped price table for this target (`price: {input, cached_input, output}`,
    /// USD per million tokens).
    public var price: ModelPrice?
    /// Share of traffic under `strategy: weighted` (default 1).
    public var weight: Double = 1
    /// Timeouts for this target; unset fields fall back to its provider's, then the global ones.
    public var timeouts = TimeoutOverrides()

    public init(
        provider: String,
        model: String,
        requestsPerMinute: Int? = nil,
        tokensPerMinute: Int? = nil,
        price: ModelPrice? = nil
    ) {
        self.provider = provider
        self.model = model
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.price = price
    }

    /// `provider/model`, as used in logs and error messages.
    public var description: String { "\(provider)/\(model)" }
}

/// `GET /metrics` on the data socket (`metrics:`).
public struct MetricsConfiguration: Sendable, Equatable {
    /// `metrics.enabled` as the file sets it; nil when the file does not say.
    public var enabled: Bool?

    public init(enabled: Bool? = nil) {
        self.enabled = enabled
    }

    /// Whether `/metrics` is answered under `mode`: as the file says, else on unless callers need
    /// virtual keys (`auth.mode: keys`), where anyone who can reach the socket would read the
    /// gateway's figures without one.
    public func isServed(under mode: AuthConfiguration.Mode) -> Bool {
        enabled ?? !mode.acceptsKeys
    }
}

public struct LogConfiguration: Sendable, Equatable {
    /// Log level for operational lines (`debug`, `info`, `warning`, `error`).
    public var level: String
    /// Include prompts and completions in access lines (off by default).
    public var includeBodies: Bool
    /// Lines waiting for a slow stdout, in bytes (`log.queue_bytes`); past it lines are dropped and counted.
    public var queueBytes = 8 * 1024 * 1024
    /// Let a crash write a core dump (`log.core_dumps`). Off by default: a core holds provider keys and prompts.
    public var coreDumps = false
    /// Write log lines (access and operational) to this file instead of stdout (`log.file`),
    /// reopened on SIGUSR1 for log rotation. Nil: stdout.
    public var file: String?
    /// Permission bits of a log file the gateway creates (`log.file_mode`); an existing file keeps its own.
    public var fileMode = 0o640

    public init(level: String = "info", includeBodies: Bool = false) {
        self.level = level
        self.includeBodies = includeBodies
    }
}

/// One entry of `callers:`: a local process, recognized by the uid or a group of its Unix-socket
/// credentials (SO_PEERCRED, SO_PEERGROUPS), served as `peer:<name>` with its own limits. Names from
/// the passwd and group databases are resolved when the file is loaded (and again on reload).
public struct CallerConfiguration: Sendable, Equatable {
    public var name: String
    /// The peer's uid must be this (`uid:` or `user:`).
    public var uid: UInt32?
    /// The peer must have this group, as its primary or a supplementary group (`gid:` or `group:`).
    public var gid: UInt32?
    /// `rpm`, `tpm`, `budget_usd` with `budget_period`: scope `caller:<name>`.
    public var limits: LimitSettings
    /// A team whose limits and budget (`llmgw teams`) apply too, as for a key of that team.
    public var team: String?
    /// `models:`: the aliases this caller may use; nil means all.
    public var allowedModels: [String]?
    /// `guardrails:`: applied to this caller's requests and answers after its model's own.
    public var guardrails: [String] = []

    public init(
        name: String, uid: UInt32? = nil, gid: UInt32? = nil, limits: LimitSettings = .init(), team: String? = nil,
        allowedModels: [String]? = nil
    ) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.limits = limits
        self.team = team
        self.allowedModels = allowedModels
    }

    /// Whether a peer with `uid`, primary `gid` and supplementary `groups` is this caller: every
    /// condition set must hold.
    public func matches(uid peerUID: UInt32, gid peerGID: UInt32, groups: [UInt32]) -> Bool {
        if let uid, uid != peerUID { return false }
        if let gid, gid != peerGID, !groups.contains(gid) { return false }
        return uid != nil || gid != nil
    }
}

extension GatewayConfiguration {
    /// The first declared caller (in file order) the peer matches.
    public func caller(uid: UInt32, gid: UInt32, groups: [UInt32]) -> CallerConfiguration? {
        callers.first { $0.matches(uid: uid, gid: gid, groups: groups) }
    }
}

/// `admin:`: where `/metrics`, `/healthz` and `/readyz` are served when not on the data listeners.
/// At least one of `socket` and `tcp`. Unlike `listen.tcp`, `tcp` may be any address (a scraper
/// dials the pod's IP): it serves nothing but the figures and the probes.
public struct AdminConfiguration: Sendable, Equatable {
    public var socket: String?
    public var socketMode: UInt32 = 0o660
    public var socketGroup: String?
    public var tcp: HostAndPort?

    public init(socket: String? = nil, tcp: HostAndPort? = nil) {
        self.socket = socket
        self.tcp = tcp
    }

    /// The listeners as the server takes them: small limits (scrapes and probes are small and few),
    /// timeouts and the drain of `listen`.
    public func listenConfiguration(drainTimeout: Duration) -> ListenConfiguration {
        var listen = ListenConfiguration(
            socket: socket ?? "", socketMode: socketMode, tcp: tcp, maxBodyBytes: 64 << 10,
            readTimeout: .seconds(10), idleTimeout: .seconds(75), drainTimeout: drainTimeout)
        listen.socketGroup = socketGroup
        listen.maxConnections = 64
        listen.maxInFlight = 16
        listen.maxHeaderBytes = 16 << 10
        listen.writeTimeout = .seconds(10)
        return listen
    }
}
