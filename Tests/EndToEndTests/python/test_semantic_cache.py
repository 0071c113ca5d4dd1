"""The semantic cache through the official openai SDK: a stream replayed from a semantic hit parses
like the stream it was stored from (the mock embeds with a hashed bag of words)."""

import anthropic
import httpx
import httpx2
import openai
import pytest


@pytest.fixture()
def client(gateway):
    http_client = httpx.Client(transport=httpx.HTTPTransport(uds=gateway.socket))
    return openai.OpenAI(api_key="unused-by-gateway", base_url="http://localhost/v1", http_client=http_client, max_retries=0)


def _stream(client, text, request_id=None):
    raw = client.chat.completions.with_raw_response.create(
        extra_headers={"x-request-id": request_id} if request_id else None,
        model="semantic",
        messages=[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    content, finish, usage, ids = "", None, None, set()
    for chunk in raw.parse():
        ids.add(chunk.id)
        if chunk.choices:
            content += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    return raw.headers, content, finish, usage, ids


def test_semantic_hit_stream_parses_with_the_sdk(client, gateway):
    headers, content, finish, usage, ids = _stream(client, "How many legs does a spider have")
    assert headers["x-llmgw-cache"] == "miss"
    assert content and finish == "stop" and usage is not None
    replay_headers, replay, replay_finish, replay_usage, replay_ids = _stream(
        client, "how many legs does a spider have exactly", request_id="py-semantic-hit"
    )
    assert replay_headers["x-llmgw-cache"] == "semantic-hit"
    assert 0.9 <= float(replay_headers["x-llmgw-cache-similarity"]) < 1
    assert replay_headers["content-type"].startswith("text/event-stream")
    # The stored stream, chunk for chunk: the answer to the first wording.
    assert (replay, replay_finish, replay_ids) == (content, finish, ids)
    assert replay_usage.completion_tokens == usage.completion_tokens
    line = gateway.access_line("py-semantic-hit")
    assert (line["cache"], line["outcome"], line["stream"]) == ("semantic_hit", "cache_hit", True)
    embedding = gateway.access_line("py-semantic-hit-embed")
    assert (embedding["internal"], embedding["route"], embedding["model"]) == ("semantic_cache", "/v1/embeddings", "embed-bow")


def test_unrelated_prompt_is_a_miss(client):
    _stream(client, "Name three primary colours")
    headers, content, _, _, _ = _stream(client, "Explain how a bicycle gear works")
    assert headers["x-llmgw-cache"] == "miss"
    assert "x-llmgw-cache-similarity" not in headers
    assert content


def test_anthropic_messages_stream_from_a_semantic_hit(gateway):
    http_client = httpx2.Client(transport=httpx2.HTTPTransport(uds=gateway.socket))
    client = anthropic.Anthropic(
        api_key="unused-by-gateway", base_url="http://localhost", http_client=http_client, max_retries=0
    )

    def ask(text):
        with client.messages.stream(
            model="claude-semantic", max_tokens=64, system="Answer briefly.",
            messages=[{"role": "user", "content": text}],
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
            return stream.response.headers, text, final

    headers, text, final = ask("Which ocean is the largest on Earth")
    assert headers["x-llmgw-cache"] == "miss"
    replay_headers, replay, replay_final = ask("which ocean is the largest one on earth")
    assert replay_headers["x-llmgw-cache"] == "semantic-hit"
    assert (replay, replay_final.id, replay_final.stop_reason) == (text, final.id, final.stop_reason)
