import GatewayCore

/// Writes a `CanonicalResponse` as an OpenAI `chat.completion` body.
///
/// Thinking text goes into `message.reasoning_content` (the field DeepSeek and LiteLLM use;
/// OpenAI's SDK ignores it); signatures and redacted thinking have no place and are dropped.
public enum OpenAIChatResponseEncoder {
    /// - Parameters:
    ///   - id: the id to report, nil for the provider's own.
    ///   - created: Unix seconds for `created` (the caller reads the clock).
    ///   - model: the model to report, nil for the provider's own.
    public static func encode(_ response: CanonicalResponse, id: String? = nil, created: Int, model: String? = nil)
        -> [UInt8]
    {
        var json = JSONWriter(capacity: 512)
        json.object {
            $0.field("id", id ?? response.id)
            $0.field("object", "chat.completion")
            $0.field("created", created)
            $0.field("model", model ?? response.model)
            $0.key("choices")
            $0.array {
                $0.object {
                    $0.field("index", 0)
                    $0.key("message")
                    writeMessage(response, into: &$0)
                    $0.key("logprobs")
                    $0.null()
                    $0.field("finish_reason", (response.stopReason ?? .stop).openAIFinishReason)
                }
            }
            if let usage = response.usage {
                $0.key("usage")
                writeUsage(usage, into: &$0)
            }
        }
        return json.bytes
    }

    private static func writeMessage(_ response: CanonicalResponse, into json: inout JSONWriter) {
        let calls = response.toolCalls
        let hasText = response.content.contains { if case .text = $0 { true } else { false } }
        let reasoning = response.content.reduce(into: "") { result, part in
            if case .thinking(let text, _) = part { result += text }
        }
        json.object {
            $0.field("role", "assistant")
            $0.field("content", hasText || calls.isEmpty ? response.text : nil)
            $0.key("refusal")
            $0.null()
            if !reasoning.isEmpty { $0.field("reasoning_content", reasoning) }
            if !calls.isEmpty {
                $0.key("tool_calls")
                $0.array { json in
                    for call in calls {
                        json.object {
                            $0.field("id", call.id)
                            $0.field("type", "function")
                            $0.key("function")
                            $0.object {
                                $0.field("name", call.name)
                                $0.field("arguments", call.arguments)
                            }
                        }
                    }
                }
            }
        }
    }

    /// OpenAI's `usage` object; cached tokens (read and written) are already inside `prompt_tokens`.
    static func writeUsage(_ usage: TokenUsage, into json: inout JSONWriter) {
        json.object {
            $0.field("prompt_tokens", usage.promptTokens)
            $0.field("completion_tokens", usage.completionTokens)
            $0.field("total_tokens", usage.totalTokens)
            $0.key("prompt_tokens_details")
            $0.object {
                $0.field("cached_tokens", usage.cachedPromptTokens)
                if usage.cacheCreationPromptTokens > 0 {
                    $0.field("cache_write_tokens", usage.cacheCreationPromptTokens)
                }
            }
            $0.key("completion_tokens_details")
            $0.object { $0.field("reasoning_tokens", usage.reasoningTokens) }
        }
    }
}
