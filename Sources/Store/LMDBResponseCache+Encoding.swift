import GatewayCore

/// The binary form of a `CachedResponse` in the `cache` database.
///
/// Version 1, integers big-endian, `varint` = unsigned LEB128:
///
///     offset  size  field
///     0       1     version (1)
///     1       1     flags: bit 0 streamed, bit 1 usage present (other bits must be 0)
///     2       8     storedAtMillis (Int64)
///     10      8     expiresAtMillis (Int64)
///     18      …     usage, only when flag bit 1: promptTokens, completionTokens,
///                   cachedPromptTokens, reasoningTokens, each a varint (negative counts are
///                   clamped to 0 when encoding)
///             …     contentType, provider, upstreamModel: each varint length + UTF-8 bytes
///             …     body: varint length + bytes; the entry ends exactly there
///
/// Decoding is total: a short, over-long, unknown-version or otherwise malformed entry decodes to
/// nil (a miss), never a trap. A future layout gets a new version byte; an older process then
/// sees a miss, not garbage.
enum CachedResponseCoding {
    static let version: UInt8 = 1

    private static let streamedFlag: UInt8 = 1 << 0
    private static let usageFlag: UInt8 = 1 << 1

    static func encode(_ response: CachedResponse) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(
            40 + response.contentType.utf8.count + response.provider.utf8.count
                + response.upstreamModel.utf8.count + response.body.count)
        bytes.append(version)
        var flags: UInt8 = 0
        if response.streamed { flags |= streamedFlag }
        if response.usage != nil { flags |= usageFlag }
        bytes.append(flags)
        appendInt64(response.storedAtMillis, to: &bytes)
        appendInt64(response.expiresAtMillis, to: &bytes)
        if let usage = response.usage {
            for count in [usage.promptTokens, usage.completionTokens, usage.cachedPromptTokens, usage.reasoningTokens] {
                appendVarint(UInt64(max(count, 0)), to: &bytes)
            }
        }
        for text in [response.contentType, response.provider, response.upstreamModel] {
            appendVarint(UInt64(text.utf8.count), to: &bytes)
            bytes.append(contentsOf: text.utf8)
        }
        appendVarint(UInt64(response.body.count), to: &bytes)
        bytes.append(contentsOf: response.body)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> CachedResponse? {
        var reader = Reader(bytes: bytes)
        guard reader.byte() == version, let flags = reader.byte(), flags & ~(streamedFlag | usageFlag) == 0,
            let storedAt = reader.int64(), let expiresAt = reader.int64()
        else { return nil }
        var usage: TokenUsage?
        if flags & usageFlag != 0 {
            guard let prompt = reader.count(), let completion = reader.count(), let cached = reader.count(),
                let reasoning = reader.count()
            else { return nil }
            usage = TokenUsage(
                promptTokens: prompt, completionTokens: completion, cachedPromptTokens: cached,
                reasoningTokens: reasoning)
        }
        guard let contentType = reader.string(), let provider = reader.string(),
            let upstreamModel = reader.string(), let bodyLength = reader.count(),
            let body = reader.take(bodyLength), reader.atEnd
        else { return nil }
        return CachedResponse(
            contentType: contentType, body: Array(body), streamed: flags & streamedFlag != 0, usage: usage,
            provider: provider, upstreamModel: upstreamModel, storedAtMillis: storedAt, expiresAtMillis: expiresAt)
    }

    /// `storedAtMillis` of an entry, read from the fixed header without decoding the rest; nil
    /// when the header is not a known version.
    static func storedAtMillis(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count >= 18, bytes[0] == version else { return nil }
        var reader = Reader(bytes: bytes, index: 2)
        return reader.int64()
    }

    static func appendInt64(_ value: Int64, to bytes: inout [UInt8]) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> shift)) }
    }

    static func int64(bigEndian bytes: some Collection<UInt8>) -> Int64? {
        guard bytes.count == 8 else { return nil }
        return Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func byte() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func int64() -> Int64? {
            guard let slice = take(8) else { return nil }
            return CachedResponseCoding.int64(bigEndian: slice)
        }

        /// A varint that fits in a non-negative `Int`.
        mutating func count() -> Int? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 63, by: 7) {
                guard let byte = byte() else { return nil }
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value <= UInt64(Int.max) ? Int(value) : nil }
            }
            return nil
        }

        mutating func take(_ length: Int) -> ArraySlice<UInt8>? {
            guard length >= 0, length <= bytes.count - index else { return nil }
            defer { index += length }
            return bytes[index..<index + length]
        }

        mutating func string() -> String? {
            guard let length = count(), let slice = take(length) else { return nil }
            return String(validating: slice, as: UTF8.self)
        }
    }
}
