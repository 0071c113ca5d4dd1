/// The text form of a virtual key: `sk-llmgw-<public id>-<secret>`. The public id names the key
/// in logs, metrics and the CLI; only a SHA-256 of the secret is ever stored.
public struct VirtualKeyToken: Sendable, Equatable, CustomStringConvertible {
    /// 12 lower-case base-32 characters.
    public let publicID: String
    /// 32 base-62 characters (about 190 bits).
    public let secret: String

    static let prefix = "sk-llmgw-"
    /// What every virtual key starts with.
    public static var textPrefix: String { prefix }
    static let idAlphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
    static let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    public init(publicID: String, secret: String) {
        self.publicID = publicID
        self.secret = secret
    }

    /// A fresh random key.
    public static func generate() -> VirtualKeyToken {
        var generator = SystemRandomNumberGenerator()
        let id = String((0..<12).map { _ in idAlphabet.randomElement(using: &generator)! })
        let secret = String((0..<32).map { _ in secretAlphabet.randomElement(using: &generator)! })
        return VirtualKeyToken(publicID: id, secret: secret)
    }

    /// Parses a presented key; nil when it is not in llmgw's format.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.utf8.dropFirst(Self.prefix.utf8.count)
        guard let dash = rest.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        let id = rest[..<dash]
        let secret = rest[rest.index(after: dash)...]
        // On bytes: both alphabets are ASCII, and Character comparisons cost ~20,000 instructions a key.
        guard id.count == 12, id.allSatisfy(Self.isIDByte), secret.count == 32, secret.allSatisfy(Self.isSecretByte)
        else { return nil }
        self.init(publicID: String(decoding: id, as: UTF8.self), secret: String(decoding: secret, as: UTF8.self))
    }

    /// `idAlphabet`: a-z and 2-7.
    private static func isIDByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "2")...UInt8(ascii: "7")).contains(byte)
    }

    /// `secretAlphabet`: A-Z, a-z and 0-9.
    private static func isSecretByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// The full key, to be shown once to its owner.
    public var text: String { Self.prefix + publicID + "-" + secret }

    /// Never the secret: `key:<public id>`.
    public var description: String { "key:\(publicID)" }
}
