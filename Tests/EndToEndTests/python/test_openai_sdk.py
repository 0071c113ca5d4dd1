"""The official OpenAI Python SDK talking to llmgw over its Unix socket.

llmgw and llmgw-mock run as real processes (binaries from LLMGW_BIN_DIR); the SDK uses an httpx
client whose transport is the gateway's socket.
"""

import json
import os
import signal
import subprocess
import tempfile
import time

import httpx
import openai
import pytest

PROVIDER_KEY = "sk-llmgw-pytest-DO-NOT-LEAK-42c0ffee"
BIN_DIR = os.environ.get("LLMGW_BIN_DIR", ".build/debug")


def _wait_for_socket(path, process, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early with {process.returncode}")
        if os.path.exists(path):
            try:
                httpx.Client(transport=httpx.HTTPTransport(uds=path)).get("http://localhost/healthz")
                return
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {path}")


@pytest.fixture(scope="module")
def gateway():
    workdir = tempfile.mkdtemp(prefix="llmgw-py-")
    mock_socket = os.path.join(workdir, "mock.sock")
    socket_path = os.path.join(workdir, "gw.sock")
    mock = subprocess.Popen(
        [os.path.join(BIN_DIR, "llmgw-mock"), "--socket", mock_socket, "--api-key", PROVIDER_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ready = json.loads(mock.stdout.readline())
    assert ready.get("socket") == mock_socket, ready
    config = os.path.join(workdir, "llmgw.yaml")
    with open(config, "w") as f:
        f.write(
            f"""
listen:
  socket: {socket_path}
state:
  path: {workdir}/state
providers:
  mock: {{ kind: openai, base_url: "http://localhost/v1", socket: "{mock_socket}", api_key: "env:PYTEST_PROVIDER_KEY" }}
models:
  - name: smart
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
  - name: embed
    targets: [{{ provider: mock, model: text-embedding-3-small }}]
"""
        )
    stdout_path = os.path.join(workdir, "stdout.log")
    stdout = open(stdout_path, "w")
    env = dict(os.environ, PYTEST_PROVIDER_KEY=PROVIDER_KEY)
    process = subprocess.Popen(
        [os.path.join(BIN_DIR, "llmgw"), "serve", "--config", config], stdout=stdout, stderr=subprocess.STDOUT, env=env
    )
    try:
        _wait_for_socket(socket_path, process)
        yield {"socket": socket_path, "stdout": stdout_path}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        mock.send_signal(signal.SIGTERM)
        mock.wait(timeout=10)
        stdout.close()
        with open(stdout_path) as f:
            output = f.read()
        assert PROVIDER_KEY not in output, "provider key leaked into the gateway's output"
        assert process.returncode == 0, output


@pytest.fixture()
def client(gateway):
    http_client = httpx.Client(transport=httpx.HTTPTransport(uds=gateway["socket"]))
    return openai.OpenAI(api_key="unused-by-gateway", base_url="http://localhost/v1", http_client=http_client, max_retries=0)


def _access_lines(gateway):
    with open(gateway["stdout"]) as f:
        return [json.loads(line) for line in f if line.startswith("{") and '"msg":"request"' in line]


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
    assert ids == ["smart", "embed"]


def test_one_access_line_per_request(client, gateway):
    before = len(_access_lines(gateway))
    client.chat.completions.create(model="smart", messages=[{"role": "user", "content": "count me"}])
    time.sleep(0.1)
    lines = _access_lines(gateway)
    assert len(lines) == before + 1
    assert lines[-1]["outcome"] == "ok"
    assert lines[-1]["provider"] == "mock"
