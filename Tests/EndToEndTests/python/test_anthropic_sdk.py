"""The official Anthropic Python SDK against llmgw's `/v1/messages` over the Unix socket (fixture in
conftest.py), served by every provider kind: passed through to the Anthropic mock, translated for
the others. The SDK talks through an httpx client whose transport is the gateway's socket.
"""

import anthropic
import httpx2
import pytest
from conftest import CHAT_MODELS, MODELS

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture()
def client(gateway):
    # Anthropic SDK 2.x is built on httpx2 (its own fork of httpx).
    http_client = httpx2.Client(transport=httpx2.HTTPTransport(uds=gateway.socket))
    return anthropic.Anthropic(
        api_key="unused-by-gateway", base_url="http://localhost", http_client=http_client, max_retries=0
    )


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_text(client, gateway, model):
    raw = client.messages.with_raw_response.create(
        model=model,
        max_tokens=256,
        system="Be terse.",
        messages=[{"role": "user", "content": "Hello from the Anthropic SDK"}],
        extra_headers={"x-request-id": f"py-anthropic-text-{model}"},
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason == "end_turn"
    prompt, completion = gateway.provider_usage(MODELS[model][0])
    usage = message.usage
    total_input = usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
    assert (total_input, usage.output_tokens) == (prompt, completion)
    line = gateway.access_line(f"py-anthropic-text-{model}")
    assert (line["prompt_tokens"], line["completion_tokens"]) == (prompt, completion)
    assert line["route"] == "/v1/messages"


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_accumulates_content_and_usage(client, gateway, model):
    kwargs = dict(model=model, max_tokens=256, messages=[{"role": "user", "content": "Stream to me"}])
    with client.messages.stream(**kwargs, extra_headers={"x-request-id": f"py-anthropic-stream-{model}"}) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    # The same request, not streamed, reports the same content and usage.
    plain = client.messages.create(**kwargs)
    assert plain.content[0].text == text
    assert (final.usage.input_tokens, final.usage.output_tokens) == (plain.usage.input_tokens, plain.usage.output_tokens)
    line = gateway.access_line(f"py-anthropic-stream-{model}")
    assert line["completion_tokens"] == final.usage.output_tokens
    assert line["stream"] is True


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_tool_use_round_trip(client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.messages.create(model=model, max_tokens=256, tools=[WEATHER_TOOL], messages=messages)
    assert first.stop_reason == "tool_use"
    tool_use = next(block for block in first.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and isinstance(tool_use.input, dict) and tool_use.input
    messages.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]})
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "18C, cloudy"}]}
    )
    second = client.messages.create(model=model, max_tokens=256, tools=[WEATHER_TOOL], messages=messages)
    assert second.stop_reason == "end_turn"
    assert "18C" in "".join(block.text for block in second.content if block.type == "text")


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_streamed_tool_use_accumulates_its_input(client, model):
    with client.messages.stream(
        model=model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "What is the weather in Rome?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool_use = next(block for block in final.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and isinstance(tool_use.input, dict) and tool_use.input


def test_count_tokens(client):
    messages = [{"role": "user", "content": "How many tokens is this sentence?"}]
    exact = client.messages.count_tokens(model="claude", messages=messages)
    sent = client.messages.create(model="claude", max_tokens=16, messages=messages)
    assert exact.input_tokens == sent.usage.input_tokens
    estimated = client.messages.count_tokens(model="smart", messages=messages)
    assert estimated.input_tokens > 0


def test_errors_are_anthropic_exceptions(client):
    with pytest.raises(anthropic.NotFoundError) as raised:
        client.messages.create(model="nope", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 404
    assert raised.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="smart", max_tokens=16, messages=[])
