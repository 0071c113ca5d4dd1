"""The official OpenAI Python SDK talking to llmgw over its Unix socket (fixture in conftest.py),
against every provider kind: the SDK uses an httpx client whose transport is the gateway's socket.
"""

import json
import time

import httpx
import openai
import pytest
from conftest import CHAT_MODELS, MODELS


@pytest.fixture()
def client(gateway):
    http_client = httpx.Client(transport=httpx.HTTPTransport(uds=gateway.socket))
    return openai.OpenAI(api_key="unused-by-gateway", base_url="http://localhost/v1", http_client=http_client, max_retries=0)


def test_non_stream_chat(client, gateway):
    completion = client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "Hi there"}])
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.usage.prompt_tokens > 0
    assert completion.choices[0].finish_reason == "stop"


def test_stream_with_usage(client, gateway):
    stream = client.chat.completions.create(
        model="smart",
        messages=[{"role": "user", "content": "Tell me something"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0
    expected = client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "Tell me something"}])
    assert text == expected.choices[0].message.content
    assert usage.completion_tokens == expected.usage.completion_tokens


def test_stream_without_usage_has_no_usage_chunk(client):
    chunks = list(
        client.chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
    )
    assert chunks
    assert all(chunk.usage is None for chunk in chunks)


def test_embeddings_default_base64(client):
    result = client.embeddings.create(model="embed", input=["hello", "world"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) > 0
    assert isinstance(result.data[0].embedding[0], float)


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 404
    assert raised.value.code == "model_not_found"


def test_missing_messages_is_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="smart", messages=[])
    assert raised.value.status_code == 400


def test_models_list(client):
    ids = [model.id for model in client.models.list()]
    assert ids == [
        "smart", "claude", "gemini", "gemini3", "azure", "embed", "smart-cut", "claude-cached", "claude-then-smart",
        "claude-cut", "bedrock", "bedrock-arn", "bedrock-throttled", "embed-bow", "semantic", "claude-semantic",
        "smart-private", "claude-private", "gemini-pii-out", "smart-pii-out", "smart-no-cards-out",
    ]


def test_models_retrieve(client):
    model = client.models.retrieve("smart")
    assert (model.id, model.object, model.owned_by) == ("smart", "model", "llmgw")
    assert model.created > 1_600_000_000
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("nope")
    assert raised.value.code == "model_not_found"


def test_azure_stream_chunks_look_like_openai(client):
    # Code written against OpenAI indexes choices[0] on every chunk but the usage chunk.
    texts = []
    for chunk in client.chat.completions.create(
        model="azure", messages=[{"role": "user", "content": "hi"}], stream=True
    ):
        assert chunk.object == "chat.completion.chunk"
        assert chunk.id
        texts.append(chunk.choices[0].delta.content or "")
    assert "".join(texts)


def test_one_access_line_per_request(client, gateway):
    before = len(gateway.access_lines())
    client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "count me"}])
    time.sleep(0.1)
    lines = gateway.access_lines()
    assert len(lines) == before + 1
    assert lines[-1]["outcome"] == "ok"
    assert lines[-1]["provider"] == "mock"


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_text_per_kind_with_the_providers_usage(client, gateway, model):
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello from the SDK"}],
        extra_headers={"x-request-id": f"py-text-{model}"},
    )
    completion = raw.parse()
    assert raw.headers["x-llmgw-provider"]
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    prompt, completion_tokens = gateway.provider_usage(MODELS[model][0])
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, completion_tokens)
    line = gateway.access_line(f"py-text-{model}")
    assert (line["prompt_tokens"], line["completion_tokens"]) == (prompt, completion_tokens)


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_per_kind_ends_with_usage(client, gateway, model):
    messages = [{"role": "user", "content": "Stream something"}]
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-request-id": f"py-stream-{model}"},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0 and usage.prompt_tokens > 0
    line = gateway.access_line(f"py-stream-{model}")
    assert (line["prompt_tokens"], line["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
    assert line["stream"] is True


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_tool_call_round_trip_per_kind(client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18C, cloudy"})
    second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    assert "18C" in second.choices[0].message.content


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_streamed_tool_call_arguments_arrive_whole(client, model):
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather in Rome?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    calls, finish = {}, None
    for chunk in stream:
        if not chunk.choices:
            continue
        finish = chunk.choices[0].finish_reason or finish
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            if delta.function:
                entry["name"] = delta.function.name or entry["name"]
                entry["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert calls and all(call["id"] and call["name"] == "get_weather" for call in calls.values())
    assert all(isinstance(json.loads(call["arguments"]), dict) for call in calls.values())


def test_legacy_completions_pass_through(client, gateway):
    completion = client.completions.create(model="smart", prompt="Say this is a test", max_tokens=4)
    assert completion.object == "text_completion"
    assert completion.choices[0].text
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 4
    sent = gateway.last_upstream_request("openai")
    assert sent["uri"] == "/v1/completions"
    text = ""
    for chunk in client.completions.create(model="smart", prompt="Say this is a test", stream=True):
        if chunk.choices:
            text += chunk.choices[0].text
        assert chunk.usage is None, "the usage chunk the gateway asked for is not relayed"
    assert text.startswith("Hello! You said")


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_legacy_completions_are_refused_by_translated_kinds(client, model):
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model=model, prompt="Hi")
    assert "/v1/chat/completions" in raised.value.message


def test_auto_cache_control_marks_system_and_tools(client, gateway):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    completion = client.chat.completions.create(
        model="claude-cached",
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
        tools=tools,
        tool_choice="none",
    )
    assert completion.choices[0].message.content
    sent = json.loads(gateway.last_upstream_request("anthropic")["body"])
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in json.dumps(sent["messages"])
    # Without the switch nothing is added.
    client.chat.completions.create(
        model="claude", messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]
    )
    assert "cache_control" not in gateway.last_upstream_request("anthropic")["body"]
