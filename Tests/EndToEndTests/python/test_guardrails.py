"""Guardrails through the official SDKs: reversible masking (the provider sees placeholders, the
client its own values back, streamed or not, in both front dialects and in Responses) and answers
masked or refused mid-stream. The mock echoes the last user text, so what it was sent comes back."""

import json

import anthropic
import httpx
import httpx2
import openai
import pytest
from test_responses import assert_valid_event, raw_events

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"


@pytest.fixture()
def client(gateway):
    http_client = httpx.Client(transport=httpx.HTTPTransport(uds=gateway.socket))
    return openai.OpenAI(api_key="unused-by-gateway", base_url="http://localhost/v1", http_client=http_client, max_retries=0)


@pytest.fixture()
def claude(gateway):
    http_client = httpx2.Client(transport=httpx2.HTTPTransport(uds=gateway.socket))
    return anthropic.Anthropic(api_key="unused-by-gateway", base_url="http://localhost", http_client=http_client, max_retries=0)


def assert_never_leaked(gateway, dialect, request_id):
    sent = gateway.last_upstream_request(dialect)["body"]
    assert EMAIL not in sent and "[EMAIL_1]" in sent
    line = gateway.access_line(request_id)
    assert "pii-restore:email:mask=1" in line["guardrails"]
    assert EMAIL not in json.dumps(line)


def test_openai_sdk_gets_its_value_back_the_provider_never_sees_it(client, gateway):
    answer = client.chat.completions.create(
        model="smart-private",
        messages=[{"role": "user", "content": f"Please email {EMAIL} tomorrow"}],
        extra_headers={"x-request-id": "py-guard-restore"},
    )
    assert answer.choices[0].message.content == f"Hello! You said: Please email {EMAIL} tomorrow"
    assert_never_leaked(gateway, "openai", "py-guard-restore")


def test_openai_sdk_stream_restores_placeholders_split_across_chunks(client, gateway):
    stream = client.chat.completions.create(
        model="smart-private",
        messages=[{"role": "user", "content": f"Write to {EMAIL} and to {EMAIL} again"}],
        stream=True,
        extra_headers={"x-request-id": "py-guard-restore-stream"},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == f"Hello! You said: Write to {EMAIL} and to {EMAIL} again"
    sent = gateway.last_upstream_request("openai")["body"]
    assert EMAIL not in sent and sent.count("[EMAIL_1]") == 2


def test_anthropic_sdk_stream_restores_too(claude, gateway):
    with claude.messages.stream(
        model="claude-private",
        max_tokens=200,
        messages=[{"role": "user", "content": f"Please email {EMAIL} tomorrow"}],
        extra_headers={"x-request-id": "py-guard-restore-claude"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert EMAIL in text and "[EMAIL_1]" not in text
    assert final.content[0].text == text
    assert_never_leaked(gateway, "anthropic", "py-guard-restore-claude")


@pytest.mark.parametrize("model,dialect", [("smart-private", "openai"), ("claude-private", "anthropic")])
def test_responses_stream_restores_and_stays_numbered(gateway, model, dialect):
    events = raw_events(gateway, {"model": model, "input": f"Please email {EMAIL} tomorrow", "stream": True, "store": False})
    if dialect == "anthropic":
        # Translated: every event llmgw writes validates against the Open Responses schemas.
        for _, event in events:
            assert_valid_event(event)
    assert [event["sequence_number"] for _, event in events] == list(range(len(events)))
    assert all(name == event["type"] for name, event in events)
    deltas = "".join(event["delta"] for _, event in events if event["type"] == "response.output_text.delta")
    final = next(event for _, event in events if event["type"] == "response.completed")["response"]
    assert EMAIL in deltas and "[EMAIL_1]" not in deltas
    assert final["output"][-1]["content"][0]["text"] == deltas
    assert EMAIL not in gateway.last_upstream_request(dialect)["body"]


def test_an_answer_guardrail_masks_a_translated_stream(client, gateway):
    stream = client.chat.completions.create(
        model="gemini-pii-out",
        messages=[{"role": "user", "content": f"My card is {CARD}, mail {EMAIL}"}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert CARD not in text and EMAIL not in text
    assert "[CARD_1]" in text and "[EMAIL_1]" in text
    # on: response: the request went as written.
    assert CARD in gateway.last_upstream_request("gemini")["body"]


def test_a_refused_answer_is_cut_mid_stream_with_the_guardrail_named(client):
    stream = client.chat.completions.create(
        model="smart-no-cards-out",
        messages=[{"role": "user", "content": "word " * 60 + f"then {CARD}"}],
        stream=True,
    )
    text = ""
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    assert "guardrail_violation" in str(raised.value) and "no-cards-out" in str(raised.value)
    assert text.startswith("Hello! You said: word") and "4111" not in text


def test_a_refused_answer_is_a_400_when_not_streamed(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="smart-no-cards-out", messages=[{"role": "user", "content": f"Pay with {CARD}"}]
        )
    assert raised.value.code == "guardrail_violation"
    assert "4111" not in str(raised.value)
