/// Assembles the response head from the lines libcurl hands to its header callback, one line per
/// call, each with its line ending. Informational (1xx) heads are skipped; the first final head
/// completes it. Trailers after that are not this parser's business.
///
/// What a provider may send is bounded: at most `maximumBytes` of head lines in all (informational
/// heads included) and `maximumHeaderCount` headers in the final head. Past either, the parser
/// answers `.tooLarge` and the transfer is abandoned.
struct CurlResponseHeadParser {
    enum Event: Equatable {
        case needMore
        /// A final head is complete.
        case complete
        /// The head passed `maximumBytes` or `maximumHeaderCount`.
        case tooLarge
    }

    static let defaultMaximumBytes = 256 * 1024
    static let defaultMaximumHeaderCount = 256

    let maximumBytes: Int
    let maximumHeaderCount: Int
    private(set) var status: Int?
    /// Lower-cased names, values without surrounding whitespace, in order.
    private(set) var headers: [(name: String, value: String)] = []
    /// Head bytes received so far, line endings and informational heads included.
    private(set) var byteCount = 0

    init(
        maximumBytes: Int = CurlResponseHeadParser.defaultMaximumBytes,
        maximumHeaderCount: Int = CurlResponseHeadParser.defaultMaximumHeaderCount
    ) {
        self.maximumBytes = maximumBytes
        self.maximumHeaderCount = maximumHeaderCount
    }

    mutating func parse(line: UnsafeRawBufferPointer) -> Event {
        byteCount += line.count
        guard byteCount <= maximumBytes else { return .tooLarge }
        var bytes = line[...]
        while let last = bytes.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: "\n") {
            bytes = bytes.dropLast()
        }
        if bytes.isEmpty {
            guard let status else { return .needMore }
            if (100..<200).contains(status) {
                self.status = nil
                headers = []
                return .needMore
            }
            return .complete
        }
        if bytes.starts(with: "HTTP/".utf8) {
            status = Self.statusCode(of: bytes)
            headers = []
            return .needMore
        }
        if let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            // Obsolete line folding: continues the previous header's value.
            if !headers.isEmpty {
                let more = Self.trimmed(bytes)
                headers[headers.count - 1].value += " " + String(decoding: more, as: UTF8.self)
            }
            return .needMore
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return .needMore }
        guard headers.count < maximumHeaderCount else { return .tooLarge }
        let name = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: Self.trimmed(bytes[(colon + 1)...]), as: UTF8.self)
        headers.append((name: name, value: value))
        return .needMore
    }

    /// `HTTP/1.1 200 OK`, `HTTP/2 200`: the three digits after the first space.
    private static func statusCode(of line: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        var code = 0
        var digits = 0
        for byte in line[(space + 1)...] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            digits += 1
            // More than three digits is no status code (and would overflow soon enough).
            guard digits <= 3 else { return nil }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return digits == 3 ? code : nil
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var bytes = bytes
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            bytes = bytes.dropFirst()
        }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
            bytes = bytes.dropLast()
        }
        return bytes
    }
}
