import CCurl
import GatewayCore

extension CurlTransfer {
    /// Sets up the easy handle for `request`. Every `curl_easy_setopt` result is checked.
    func configure(_ request: UpstreamRequest, _ configuration: CurlTransport.Configuration) throws(UpstreamFailure) {
        let me = unretainedPointer
        try set(CURLOPT_PRIVATE, pointer: me)
        try set(CURLOPT_WRITEDATA, pointer: me)
        try set(CURLOPT_HEADERDATA, pointer: me)
        try set(CURLOPT_PREREQDATA, pointer: me)
        try check(
            llmgw_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, transfer in
                CurlTransfer.from(transfer).didReceiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            },
            CURLOPT_WRITEFUNCTION
        )
        try check(
            llmgw_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, transfer in
                CurlTransfer.from(transfer).didReceiveHeaderLine(
                    UnsafeRawBufferPointer(start: data, count: size * count))
            },
            CURLOPT_HEADERFUNCTION
        )
        try check(
            llmgw_easy_setopt_prereq_callback(easy, CURLOPT_PREREQFUNCTION) { transfer, _, _, _, _ in
                CurlTransfer.from(transfer).didConnect()
                return llmgw_prereqfunc_ok()
            },
            CURLOPT_PREREQFUNCTION
        )

        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_URL, string: request.url)
        try set(CURLOPT_PROTOCOLS_STR, string: "http,https")
        if let socket = request.unixSocket {
            try set(CURLOPT_UNIX_SOCKET_PATH, string: socket)
        }
        try configureProxy(request.proxy)
        // HTTP/2 when TLS negotiates it, HTTP/1.1 otherwise (and always for plain http).
        try set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        // A burst to a new host waits for the first connection's ALPN answer and then multiplexes
        // over it (HTTP/2) instead of opening one TLS connection per request. Only where HTTP/2 can
        // be negotiated: over plain http (and Unix sockets) a waiting transfer queues behind a busy
        // HTTP/1.1 connection whose response head has not arrived yet — a slow stream holds every new
        // request to that host until its first byte, or their connect timeout.
        if request.unixSocket == nil && request.url.lowercased().hasPrefix("https://") {
            try set(CURLOPT_PIPEWAIT, 1)
        }
        try set(CURLOPT_FOLLOWLOCATION, 0)
        try set(CURLOPT_TCP_NODELAY, 1)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_TCP_KEEPIDLE, Self.seconds(configuration.tcpKeepAliveIdle))
        try set(CURLOPT_TCP_KEEPINTVL, Self.seconds(configuration.tcpKeepAliveInterval))
        try set(CURLOPT_BUFFERSIZE, configuration.receiveBufferSize)
        try set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.timeouts.connect))
        try set(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeouts.total))

        try configureMethodAndBody(request)
        try configureHeaders(request.headers)
    }

    /// libcurl reads `https_proxy`, `http_proxy`, `ALL_PROXY` and `NO_PROXY` from the environment
    /// unless told otherwise: an empty `CURLOPT_PROXY` turns that off, so only a provider's explicit
    /// `proxy:` is ever used (`http://` or `https://`, as validated at load). Through a proxy, every
    /// request is tunnelled with `CONNECT`, and that answer's head (`200 Connection
    /// established`) is kept from the header callback, so the status and headers seen are the
    /// provider's own.
    private func configureProxy(_ proxy: String?) throws(UpstreamFailure) {
        try set(CURLOPT_PROXY, string: proxy ?? "")
        // An empty no-proxy list overrides `NO_PROXY` too: the configuration alone decides.
        try set(CURLOPT_NOPROXY, string: "")
        guard proxy != nil else { return }
        // Tunnel plain http:// too, so every answer arrives the same way and its head is the
        // provider's own. (Inside the tunnel http:// is still cleartext: `llmgw check` warns.)
        try set(CURLOPT_HTTPPROXYTUNNEL, 1)
        try set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
    }

    private func configureMethodAndBody(_ request: UpstreamRequest) throws(UpstreamFailure) {
        switch request.method {
        case "GET" where request.body.isEmpty:
            try set(CURLOPT_HTTPGET, 1)
        case "HEAD" where request.body.isEmpty:
            try set(CURLOPT_NOBODY, 1)
        default:
            // The bytes must outlive the transfer: libcurl reads them in place.
            let body = UnsafeMutableRawBufferPointer.allocate(byteCount: max(request.body.count, 1), alignment: 1)
            body.copyBytes(from: request.body)
            requestBody = body
            try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(request.body.count))
            try set(CURLOPT_POSTFIELDS, pointer: body.baseAddress)
            if request.method != "POST" {
                try set(CURLOPT_CUSTOMREQUEST, string: request.method)
            }
        }
    }

    private func configureHeaders(_ headers: [(name: String, value: String)]) throws(UpstreamFailure) {
        // A name with no value stops libcurl from adding its own header: `Expect: 100-continue`
        // always, and `Accept: */*` or a form `Content-Type` when the caller sent none.
        var lines = headers.filter { $0.name.lowercased() != "expect" }.map(Self.headerLine)
        lines.append("Expect:")
        for name in ["Accept", "Content-Type"]
        where !headers.contains(where: { $0.name.lowercased() == name.lowercased() }) {
            lines.append("\(name):")
        }
        for line in lines {
            guard let list = curl_slist_append(headerList, line) else {
                throw UpstreamFailure(.other, "could not build the request header list")
            }
            headerList = list
        }
        try check(llmgw_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), CURLOPT_HTTPHEADER)
    }

    /// `name: value`; libcurl drops a header written `name:`, so an empty value is `name;`.
    private static func headerLine(_ header: (name: String, value: String)) -> String {
        header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)"
    }

    // MARK: Checked setopt

    private func set(_ option: CURLoption, _ value: Int) throws(UpstreamFailure) {
        try check(llmgw_easy_setopt_long(easy, option, value), option)
    }

    private func set(_ option: CURLoption, offset: Int64) throws(UpstreamFailure) {
        try check(llmgw_easy_setopt_off(easy, option, curl_off_t(offset)), option)
    }

    private func set(_ option: CURLoption, string: String) throws(UpstreamFailure) {
        // libcurl copies string options (all but CURLOPT_POSTFIELDS, which is set as a pointer).
        try check(llmgw_easy_setopt_string(easy, option, string), option)
    }

    private func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(UpstreamFailure) {
        try check(llmgw_easy_setopt_pointer(easy, option, pointer), option)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(UpstreamFailure) {
        guard code == CURLE_OK else {
            throw UpstreamFailure(
                .other, "setting curl option \(option.rawValue) failed: \(CurlFailure.describe(code))")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return seconds < 0 ? 1 : Int.max }
        let total = milliseconds.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !total.overflow else { return Int.max }
        // 0 would mean "no timeout" to libcurl.
        return max(1, Int(total.partialValue))
    }

    static func seconds(_ duration: Duration) -> Int {
        max(1, Int(duration.components.seconds))
    }
}
