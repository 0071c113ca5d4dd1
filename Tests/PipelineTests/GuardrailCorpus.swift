import GatewayCore

/// Positive and negative examples per PII entity type: each positive is a text whose `value` must
/// be found as exactly that entity; each negative a text in which nothing of that type may be found.
enum GuardrailCorpus {
    typealias Entity = GuardrailConfiguration.Entity

    struct Example: Sendable {
        var text: String
        /// The substring that is the entity (positives only).
        var value: String?
    }

    static let positives: [Entity: [Example]] = [
        .email: [
            .init(text: "write to jane.doe@example.com today", value: "jane.doe@example.com"),
            .init(text: "<a href=\"mailto:ops+alerts@mail.corp.io\">", value: "ops+alerts@mail.corp.io"),
            .init(text: "user_1%x@sub-domain.example.co.uk.", value: "user_1%x@sub-domain.example.co.uk"),
            .init(text: "cc: A.B@c.de,", value: "A.B@c.de"),
            .init(text: "const admin = \"root@localhost.localdomain\";", value: "root@localhost.localdomain"),
        ],
        .phone: [
            .init(text: "call +14155550123 now", value: "+14155550123"),
            .init(text: "tel: +44 20 7946 0958", value: "+44 20 7946 0958"),
            .init(text: "office (415) 555-0123 ext", value: "(415) 555-0123"),
            .init(text: "cell 415-555-0199.", value: "415-555-0199"),
            .init(text: "fax 415.555.0100", value: "415.555.0100"),
            .init(text: "+33 1 42 68 53 00", value: "+33 1 42 68 53 00"),
        ],
        .card: [
            .init(text: "card 4111 1111 1111 1111 exp", value: "4111 1111 1111 1111"),
            .init(text: "pan=5555555555554444;", value: "5555555555554444"),
            .init(text: "amex 3782-822463-10005", value: "3782-822463-10005"),
            .init(text: "4012888888881881", value: "4012888888881881"),
            .init(text: "discover 6011 1111 1111 1117", value: "6011 1111 1111 1117"),
        ],
        .ssn: [
            .init(text: "SSN 123-45-6789", value: "123-45-6789"),
            .init(text: "ssn: 078 05 1120.", value: "078 05 1120"),
            .init(text: "id 665-12-3456", value: "665-12-3456"),
        ],
        .iban: [
            .init(text: "IBAN DE89370400440532013000 please", value: "DE89370400440532013000"),
            .init(text: "GB82 WEST 1234 5698 7654 32", value: "GB82 WEST 1234 5698 7654 32"),
            .init(text: "to FR1420041010050500013M02606.", value: "FR1420041010050500013M02606"),
            .init(text: "NL91ABNA0417164300", value: "NL91ABNA0417164300"),
        ],
        .ip: [
            .init(text: "server 192.168.1.20 is down", value: "192.168.1.20"),
            .init(text: "from 8.8.8.8.", value: "8.8.8.8"),
            .init(text: "v6 2001:db8::8a2e:370:7334 up", value: "2001:db8::8a2e:370:7334"),
            .init(text: "loopback ::1 and fe80::1", value: "fe80::1"),
            .init(text: "addr=255.255.255.255", value: "255.255.255.255"),
        ],
        .secret: [
            // Fake keys in the providers' shapes, assembled so that no key-shaped literal sits in the
            // repository for secret scanners to flag.
            .init(text: "OPENAI_API_KEY=" + fakeOpenAIKey, value: fakeOpenAIKey),
            .init(text: "key " + fakeAnthropicKey, value: fakeAnthropicKey),
            .init(text: "aws AKIAIOSFODNN7EXAMPLE", value: "AKIAIOSFODNN7EXAMPLE"),
            .init(
                text: "token ghp_16C7e42F292c6912E7710c838347Ae178B4a here",
                value: "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
            .init(text: "slack xoxb-123456789012-abcdefABCDEF", value: "xoxb-123456789012-abcdefABCDEF"),
            .init(text: "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", value: "eyJhbGciOiJIUzI1NiJ9.payload"),
            .init(text: "secret: Zk3vQ9pL2mX7wR4tY8uB1nC6hJ5gD0sF", value: "Zk3vQ9pL2mX7wR4tY8uB1nC6hJ5gD0sF"),
        ],
    ]

    static let negatives: [Entity: [String]] = [
        .email: [
            "decorators like @property and @staticmethod",
            "git@github",
            "price: 3 @ $4.50",
            "user@localhost",
            "a@b.c",
            "@mention someone",
        ],
        .phone: [
            "order 4155550123 shipped",
            "version 1.2.3",
            "2024-05-06",
            "call extension 123",
            "12:30:45",
            "+1 2",
        ],
        .card: [
            "4111 1111 1111 1112",
            "1234567890123456",
            "0000 0000 0000 0000",
            "order #4111111111111111x",
            "7992739871",
            "9111111111111111",
        ],
        .ssn: [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
            "lot 12-345-6789",
            "date 2024-01-15",
            "123456789",
        ],
        .iban: [
            "DE89370400440532013001",
            "GB82 WEST 1234 5698 7654 33",
            "AB12",
            "SKU XX00ABCDEFGHIJK",
            "ISO8601 timestamps",
        ],
        .ip: [
            "version 1.2.3.4.5",
            "256.1.1.1",
            "01.02.03.04",
            "std::vector<int>",
            "12:30:45",
            "ratio 3:2",
            "1.2.3",
        ],
        .secret: [
            "the word skeleton is not a key",
            "sk-short",
            "0123456789abcdef0123456789abcdef0123456789",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ThisIsAVeryLongCamelCaseIdentifierName",
            "AKIAlowercase",
            "/usr/local/lib/python3/site-packages",
        ],
    ]
}

/// Not real keys: the prefixes of OpenAI project keys and Anthropic keys, then filler.
private let fakeOpenAIKey = "sk-" + "proj-" + "FAKEfake0000TEST1111notREAL"
private let fakeAnthropicKey = "sk-" + "ant-" + "api03-FAKEfakeTESTtestNOTreal-000"
