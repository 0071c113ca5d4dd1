/// Named OpenAI-compatible services: `kind: groq` is `kind: openai` with Groq's base URL as the
/// default (`base_url` may still override it). Local servers default to their usual loopback port.
public enum ProviderPreset: String, Sendable, CaseIterable {
    case groq, mistral, together, deepseek, openrouter, fireworks, xai, perplexity, cerebras
    case vllm, ollama, llamacpp = "llama.cpp", lmstudio
    /// Bedrock's OpenAI-compatible Chat Completions on the runtime host, with a Bedrock API key as
    /// Bearer (`region` picks the host; us-east-1 when unset).
    case bedrockOpenAI = "bedrock-openai"

    public var defaultBaseURL: String {
        switch self {
        case .groq: "https://api.groq.com/openai/v1"
        case .mistral: "https://api.mistral.ai/v1"
        case .together: "https://api.together.xyz/v1"
        case .deepseek: "https://api.deepseek.com/v1"
        case .openrouter: "https://openrouter.ai/api/v1"
        case .fireworks: "https://api.fireworks.ai/inference/v1"
        case .xai: "https://api.x.ai/v1"
        case .perplexity: "https://api.perplexity.ai"
        case .cerebras: "https://api.cerebras.ai/v1"
        case .vllm: "http://127.0.0.1:8000/v1"
        case .ollama: "http://127.0.0.1:11434/v1"
        case .llamacpp: "http://127.0.0.1:8080/v1"
        case .lmstudio: "http://127.0.0.1:1234/v1"
        case .bedrockOpenAI: defaultBaseURL(region: "us-east-1")
        }
    }

    /// The default base URL in `region`, for the presets that have regions (else `defaultBaseURL`).
    public func defaultBaseURL(region: String?) -> String {
        guard let region else { return defaultBaseURL }
        switch self {
        case .bedrockOpenAI: return AWSProviderConfiguration.runtimeURL(region: region) + "/openai/v1"
        default: return defaultBaseURL
        }
    }

    /// Whether the preset takes `region`.
    public var isRegional: Bool { self == .bedrockOpenAI }
}
