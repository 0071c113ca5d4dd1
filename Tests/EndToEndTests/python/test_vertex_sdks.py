"""The official `openai` and `anthropic` Python SDKs against llmgw's Unix socket, served by a
`kind: vertex` provider: a real llmgw-mock in its Vertex dialect (loopback TCP), whose token endpoint
verifies the RS256 JWT the gateway signs with a service-account key the mock generated for this run.
Gemini and Claude models, streamed and not; `vertex_event` never reaches the Anthropic client.
"""

import json
import os
import signal
import subprocess
import tempfile

import anthropic
import httpx
import httpx2
import openai
import pytest
from conftest import BIN_DIR, _wait_for_socket

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


class VertexGateway:
    def __init__(self, socket, stdout, mock_url):
        self.socket = socket
        self.stdout = stdout
        self.mock_url = mock_url

    def mock_stats(self):
        return httpx.get(self.mock_url + "/_mock/stats").json()

    def model_requests(self):
        return [r for r in self.mock_stats()["recent_requests"] if r["uri"].startswith("/v1/")]


@pytest.fixture(scope="module")
def vertex_gateway():
    workdir = tempfile.mkdtemp(prefix="llmgw-py-vertex-")
    key_file = os.path.join(workdir, "sa.json")
    mock = subprocess.Popen(
        [os.path.join(BIN_DIR, "llmgw-mock"), "--port", "0", "--dialect", "vertex", "--vertex-key-file", key_file],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ready = json.loads(mock.stdout.readline())
    base_url = ready["base_url"]
    assert base_url.startswith("http://127.0.0.1:"), ready
    socket_path = os.path.join(workdir, "gw.sock")
    config = os.path.join(workdir, "llmgw.yaml")
    with open(config, "w") as f:
        f.write(
            f"""
listen:
  socket: {socket_path}
state:
  path: {workdir}/state
providers:
  vx: {{ kind: vertex, project: llmgw-test, location: us-east5, base_url: "{base_url}", credentials_file: "{key_file}" }}
models:
  - name: vgemini
    targets: [{{ provider: vx, model: gemini-2.5-flash }}]
  - name: vclaude
    targets: [{{ provider: vx, model: claude-sonnet-4-5@20250929 }}]
"""
        )
    stdout_path = os.path.join(workdir, "stdout.log")
    stdout = open(stdout_path, "w")
    process = subprocess.Popen(
        [os.path.join(BIN_DIR, "llmgw"), "serve", "--config", config], stdout=stdout, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_socket(socket_path, process)
        yield VertexGateway(socket_path, stdout_path, base_url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        mock.send_signal(signal.SIGTERM)
        mock.wait(timeout=10)
        stdout.close()
        with open(stdout_path) as f:
            output = f.read()
        assert "ya29." not in output, "an access token leaked into the gateway's output"
        assert "PRIVATE KEY" not in output, "the service-account key leaked into the gateway's output"
        assert process.returncode == 0, output


@pytest.fixture()
def openai_client(vertex_gateway):
    http_client = httpx.Client(transport=httpx.HTTPTransport(uds=vertex_gateway.socket))
    return openai.OpenAI(api_key="unused", base_url="http://localhost/v1", http_client=http_client, max_retries=0)


@pytest.fixture()
def anthropic_client(vertex_gateway):
    http_client = httpx2.Client(transport=httpx2.HTTPTransport(uds=vertex_gateway.socket))
    return anthropic.Anthropic(api_key="unused", base_url="http://localhost", http_client=http_client, max_retries=0)


@pytest.mark.parametrize("model", ["vgemini", "vclaude"])
def test_vertex_openai_chat_and_stream(openai_client, vertex_gateway, model):
    completion = openai_client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi vertex"}])
    assert "Hi vertex" in completion.choices[0].message.content
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    stream = openai_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Stream from vertex"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        usage = chunk.usage or usage
    assert "Stream from vertex" in text
    assert usage is not None and usage.completion_tokens > 0
    sent = vertex_gateway.model_requests()[-1]
    assert dict(sent["headers"])["authorization"].startswith("Bearer ya29.")
    publisher = "anthropic" if model == "vclaude" else "google"
    assert f"/publishers/{publisher}/models/" in sent["uri"]


def test_vertex_openai_tool_round_trip_on_claude(openai_client):
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = openai_client.chat.completions.create(model="vclaude", messages=messages, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    assert call.id.startswith("toolu_vrtx_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments)
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18C, cloudy"},
    ]
    second = openai_client.chat.completions.create(model="vclaude", messages=messages, tools=[WEATHER])
    assert "18C" in second.choices[0].message.content


@pytest.mark.parametrize("model", ["vclaude", "vgemini"])
def test_vertex_anthropic_messages_and_stream(anthropic_client, vertex_gateway, model):
    message = anthropic_client.messages.create(
        model=model, max_tokens=128, messages=[{"role": "user", "content": "Hello Claude on Vertex"}]
    )
    assert message.content[0].type == "text" and "Hello Claude on Vertex" in message.content[0].text
    with anthropic_client.messages.stream(
        model=model, max_tokens=128, messages=[{"role": "user", "content": "Stream please"}]
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
    assert "vertex_event" not in events
    assert events[0] == "message_start" and "message_stop" in events
    assert "Stream please" in final.content[0].text
    if model == "vclaude":
        body = json.loads(vertex_gateway.model_requests()[-1]["body"])
        assert "model" not in body and body["anthropic_version"] == "vertex-2023-10-16" and body["stream"] is True


def test_vertex_raw_claude_stream_has_no_vertex_event(vertex_gateway):
    with httpx.Client(transport=httpx.HTTPTransport(uds=vertex_gateway.socket), timeout=30) as http:
        response = http.post(
            "http://localhost/v1/messages",
            headers={"anthropic-version": "2023-06-01"},
            json={"model": "vclaude", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        )
    assert response.status_code == 200
    assert "event: message_stop" in response.text
    assert "vertex_event" not in response.text


def test_vertex_one_token_serves_every_request(vertex_gateway):
    mints = vertex_gateway.mock_stats()["requests_by_path"].get("/token", 0)
    assert mints == (1 if vertex_gateway.model_requests() else 0)
