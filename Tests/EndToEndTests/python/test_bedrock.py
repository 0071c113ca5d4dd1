"""A `kind: bedrock` provider behind llmgw, driven with the official `openai` SDK; and every request
llmgw sent to the Bedrock mock re-signed with botocore's own SigV4 signer (same method, URL,
headers, body and time), whose Authorization header must equal llmgw's byte for byte."""

import datetime
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import httpx
import openai
import pytest

from conftest import AWS_ACCESS_KEY_ID, AWS_REGION, AWS_SECRET, BEDROCK_MODEL


@pytest.fixture
def client(gateway):
    return openai.OpenAI(
        api_key="unused",
        base_url="http://localhost/v1",
        http_client=httpx.Client(transport=httpx.HTTPTransport(uds=gateway.socket)),
        max_retries=0,
    )


def recent_requests(gateway):
    with gateway.mock_http("bedrock") as http:
        return http.get("/_mock/stats").json()["recent_requests"]


def botocore_authorization(sent):
    """botocore's SigV4Auth over the request as the mock received it, at its own x-amz-date. The
    headers botocore sets itself (authorization, x-amz-date, x-amz-security-token) and the one the
    transport adds after signing (content-length) are left for it to decide."""
    headers = {name.lower(): value for name, value in sent["headers"]}
    amz_date = headers["x-amz-date"]
    request = botocore.awsrequest.AWSRequest(
        method=sent["method"],
        url="http://" + headers["host"] + sent["uri"],
        data=sent["body"].encode(),
        headers={
            name: value
            for name, value in sent["headers"]
            if name.lower() not in ("authorization", "x-amz-date", "x-amz-security-token", "content-length")
        },
    )
    credentials = botocore.credentials.Credentials(AWS_ACCESS_KEY_ID, AWS_SECRET)
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        botocore.auth.SigV4Auth(credentials, "bedrock", AWS_REGION).add_auth(request)
    return request.headers["Authorization"]


def test_bedrock_chat_with_the_openai_sdk(client, gateway):
    completion = client.chat.completions.create(
        model="bedrock", messages=[{"role": "user", "content": "Hi Bedrock"}], max_tokens=50, temperature=0.5
    )
    assert completion.choices[0].message.content == "Hello! You said: Hi Bedrock"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    sent = gateway.last_upstream_request("bedrock")
    assert sent["uri"] == "/model/" + BEDROCK_MODEL.replace(":", "%3A") + "/converse"


def test_bedrock_stream_with_the_openai_sdk(client):
    stream = client.chat.completions.create(
        model="bedrock",
        messages=[{"role": "user", "content": "Stream from Bedrock"}],
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
    assert text == "Hello! You said: Stream from Bedrock"
    assert finish == "stop"
    assert usage is not None and usage.prompt_tokens > 0


def test_bedrock_throttling_fails_over(client, gateway):
    response = client.chat.completions.with_raw_response.create(
        model="bedrock-throttled", messages=[{"role": "user", "content": "Hi"}]
    )
    assert response.headers["x-llmgw-provider"] == "mock"
    assert response.parse().choices[0].message.content


def test_bedrock_signatures_match_botocore_byte_for_byte(client, gateway):
    with gateway.mock_http("bedrock") as http:
        http.post("/_mock/reset")
    client.chat.completions.create(model="bedrock", messages=[{"role": "user", "content": "Sign me"}])
    list(
        client.chat.completions.create(
            model="bedrock", messages=[{"role": "user", "content": "Sign my stream"}], stream=True
        )
    )
    client.chat.completions.create(model="bedrock-arn", messages=[{"role": "user", "content": "An ARN"}])
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    client.chat.completions.create(
        model="bedrock",
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Weather in Zürich?"}],
        tools=tools,
        tool_choice="required",
    )
    sent = recent_requests(gateway)
    assert len(sent) == 4
    assert sent[1]["uri"].endswith("/converse-stream")
    assert "%3Ainference-profile%2Fus." in sent[2]["uri"]
    for request in sent:
        headers = {name.lower(): value for name, value in request["headers"]}
        ours = headers["authorization"]
        assert ours.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/")
        assert "traceparent" in headers  # sent, and left unsigned like botocore leaves it
        assert botocore_authorization(request) == ours, request["uri"]


def test_a_wrong_signature_would_not_match_botocore(gateway, client):
    """The comparison can fail: a body changed by one byte gives botocore another signature."""
    client.chat.completions.create(model="bedrock", messages=[{"role": "user", "content": "Tamper"}])
    request = dict(gateway.last_upstream_request("bedrock"))
    request["body"] = request["body"].replace("Tamper", "Tampex")
    ours = {name.lower(): value for name, value in request["headers"]}["authorization"]
    assert botocore_authorization(request) != ours
