import GatewayCore

/// The OpenAI-dialect gateway most pipeline tests run: model `smart` on two OpenAI targets,
/// `primary/gpt-4o` then `backup/gpt-4o-mini`, and the answers they give.
public enum ChatScript {
    public static let configuration = GatewayConfiguration(
        providers: [
            ProviderConfiguration(name: "primary", kind: .openai, baseURL: "http://primary/v1"),
            ProviderConfiguration(name: "backup", kind: .openai, baseURL: "http://backup/v1"),
        ],
        models: [
            ModelConfiguration(
                name: "smart",
                targets: [.init(provider: "primary", model: "gpt-4o"), .init(provider: "backup", model: "gpt-4o-mini")]
            )
        ]
    )

    /// `configuration` with model `smart` on `targets` instead.
    public static func configuration(smart targets: [TargetConfiguration]) -> GatewayConfiguration {
        var configuration = configuration
        configuration.models = [ModelConfiguration(name: "smart", targets: targets)]
        return configuration
    }

    /// A chat completion of 5 prompt and 7 completion tokens.
    public static let okBody = Array(
        #"{"id":"c","object":"chat.completion","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#
            .utf8
    )

    /// A streamed answer ("Hi") with the usage chunk the gateway asks for, then `[DONE]`.
    public static let streamChunks: [[UInt8]] = [
        Array(#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\#n\#n"#.utf8),
        Array(#"data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\#n\#n"#.utf8),
        Array(#"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\#n\#n"#.utf8),
        Array("data: [DONE]\n\n".utf8),
    ]

    /// `okBody` without a content type.
    public static let ok = ScriptedAnswer.response(body: okBody)
}
