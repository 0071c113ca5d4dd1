"""Shared fixture for the official-SDK tests: llmgw over its Unix socket, in front of one strict
llmgw-mock per provider dialect (openai, anthropic, gemini, azure, bedrock), each on its own socket.
The Bedrock mock verifies SigV4 signatures made with AWS_ACCESS_KEY_ID / AWS_SECRET below.

llmgw and llmgw-mock run as real processes (binaries from LLMGW_BIN_DIR).
"""

import json
import os
import signal
import subprocess
import tempfile
import time

import httpx
import pytest

PROVIDER_KEY = "sk-llmgw-pytest-DO-NOT-LEAK-42c0ffee"
BIN_DIR = os.environ.get("LLMGW_BIN_DIR", ".build/debug")
DIALECTS = ["openai", "anthropic", "gemini", "azure", "bedrock"]
AWS_ACCESS_KEY_ID = "AKIDPYTESTBEDROCK001"
AWS_SECRET = "pytest-aws-secret-DO-NOT-LEAK-9b1d"
AWS_REGION = "us-east-1"
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"

# Gateway model name -> (provider dialect, upstream model).
MODELS = {
    "smart": ("openai", "gpt-4o-mini"),
    "claude": ("anthropic", "claude-sonnet-4-5"),
    "gemini": ("gemini", "gemini-2.5-flash"),
    # Gemini 3 thinks and signs its function calls; a tool round trip needs the signature back.
    "gemini3": ("gemini", "gemini-3-pro-preview"),
    "azure": ("azure", "gpt4o-prod"),
    "bedrock": ("bedrock", BEDROCK_MODEL),
}
CHAT_MODELS = list(MODELS)


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


class Gateway:
    def __init__(self, socket, stdout, mocks, config=None):
        self.socket = socket
        self.stdout = stdout
        # The config file, for a second sidecar over the same state.
        self.config = config
        # dialect -> {"socket": path, "base_url": url}
        self.mocks = mocks

    def http(self):
        return httpx.Client(transport=httpx.HTTPTransport(uds=self.socket), base_url="http://localhost", timeout=30)

    def mock_http(self, dialect):
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=self.mocks[dialect]["socket"]), base_url="http://localhost", timeout=30
        )

    def access_lines(self):
        with open(self.stdout) as f:
            return [json.loads(line) for line in f if line.startswith("{") and '"msg":"request"' in line]

    def access_line(self, request_id):
        for _ in range(50):
            lines = [line for line in self.access_lines() if line.get("request_id") == request_id]
            if lines:
                return lines[-1]
            time.sleep(0.02)
        raise AssertionError(f"no access line for {request_id}")

    def last_upstream_request(self, dialect):
        with self.mock_http(dialect) as http:
            stats = http.get("/_mock/stats").json()
        return stats["recent_requests"][-1]

    def provider_usage(self, dialect):
        """Replays the gateway's last request to the mock directly and returns the usage the
        provider reports for it, as (prompt tokens incl. cached, completion tokens)."""
        sent = self.last_upstream_request(dialect)
        headers = {name: value for name, value in sent["headers"] if name.lower() not in ("host", "content-length")}
        with self.mock_http(dialect) as http:
            answer = http.post(sent["uri"], content=sent["body"].encode(), headers=headers).json()
        if dialect in ("openai", "azure"):
            return answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]
        if dialect == "anthropic":
            usage = answer["usage"]
            prompt = usage["input_tokens"] + usage.get("cache_read_input_tokens", 0)
            prompt += usage.get("cache_creation_input_tokens", 0)
            return prompt, usage["output_tokens"]
        if dialect == "bedrock":
            usage = answer["usage"]
            prompt = usage["inputTokens"] + usage.get("cacheReadInputTokens", 0) + usage.get("cacheWriteInputTokens", 0)
            return prompt, usage["outputTokens"]
        usage = answer["usageMetadata"]
        return usage["promptTokenCount"], usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)


@pytest.fixture(scope="session")
def gateway():
    workdir = tempfile.mkdtemp(prefix="llmgw-py-")
    mocks, processes = {}, []
    for dialect in DIALECTS:
        path = os.path.join(workdir, f"{dialect}.sock")
        arguments = [os.path.join(BIN_DIR, "llmgw-mock"), "--socket", path, "--dialect", dialect]
        arguments += ["--api-key", PROVIDER_KEY]
        if dialect == "bedrock":
            arguments += ["--aws-access-key-id", AWS_ACCESS_KEY_ID, "--aws-region", AWS_REGION]
        process = subprocess.Popen(
            arguments,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, LLMGW_MOCK_AWS_SECRET_ACCESS_KEY=AWS_SECRET),
        )
        processes.append(process)
        ready = json.loads(process.stdout.readline())
        assert ready.get("socket") == path, ready
        mocks[dialect] = {"socket": path, "base_url": ready["base_url"]}
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
  mock: {{ kind: openai, base_url: "{mocks['openai']['base_url']}", socket: "{mocks['openai']['socket']}", api_key: "env:PYTEST_PROVIDER_KEY" }}
  claude: {{ kind: anthropic, base_url: "{mocks['anthropic']['base_url']}", socket: "{mocks['anthropic']['socket']}", api_key: "env:PYTEST_PROVIDER_KEY" }}
  claude-cached: {{ kind: anthropic, base_url: "{mocks['anthropic']['base_url']}", socket: "{mocks['anthropic']['socket']}", api_key: "env:PYTEST_PROVIDER_KEY", auto_cache_control: true }}
  gem: {{ kind: gemini, base_url: "{mocks['gemini']['base_url']}", socket: "{mocks['gemini']['socket']}", api_key: "env:PYTEST_PROVIDER_KEY" }}
  az: {{ kind: azure, base_url: "{mocks['azure']['base_url']}", socket: "{mocks['azure']['socket']}", api_key: "env:PYTEST_PROVIDER_KEY", api_version: "2024-10-21" }}
  aws: {{ kind: bedrock, region: {AWS_REGION}, base_url: "{mocks['bedrock']['base_url']}", socket: "{mocks['bedrock']['socket']}", aws_access_key_id: {AWS_ACCESS_KEY_ID}, aws_secret_access_key: "file:{workdir}/aws-secret" }}
models:
  - name: smart
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
  - name: claude
    targets: [{{ provider: claude, model: claude-sonnet-4-5 }}]
  - name: gemini
    targets: [{{ provider: gem, model: gemini-2.5-flash }}]
  - name: gemini3
    targets: [{{ provider: gem, model: gemini-3-pro-preview }}]
  - name: azure
    targets: [{{ provider: az, model: gpt4o-prod }}]
  - name: embed
    targets: [{{ provider: mock, model: text-embedding-3-small }}]
  # Streams the mock cuts with its in-band error event after 6 events (past the commit point).
  - name: smart-cut
    targets: [{{ provider: mock, model: "gpt-4o-mini#error_event=6" }}]
  - name: claude-cached
    targets: [{{ provider: claude-cached, model: claude-sonnet-4-5 }}]
  # Anthropic fails after its preamble (message_start, a ping): invisible, the next target answers.
  - name: claude-then-smart
    targets:
      - {{ provider: claude, model: "claude-sonnet-4-5#error_event=2" }}
      - {{ provider: mock, model: gpt-4o-mini }}
  - name: claude-cut
    targets: [{{ provider: claude, model: "claude-sonnet-4-5#error_event=6" }}]
  - name: bedrock
    targets: [{{ provider: aws, model: "{BEDROCK_MODEL}" }}]
  - name: bedrock-arn
    targets: [{{ provider: aws, model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{BEDROCK_MODEL}" }}]
  - name: bedrock-throttled
    targets: [{{ provider: aws, model: "{BEDROCK_MODEL}#status=429" }}, {{ provider: mock, model: gpt-4o-mini }}]
  # The semantic cache (test_semantic_cache.py): the mock's bag-of-words embedding.
  - name: embed-bow
    targets: [{{ provider: mock, model: text-embedding-bow }}]
  - name: semantic
    semantic_cache: true
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
  - name: claude-semantic
    semantic_cache: true
    targets: [{{ provider: claude, model: claude-sonnet-4-5 }}]
  # Guardrails (test_guardrails.py): masked on the way in and restored on the way out; answers
  # masked or refused (the mock echoes what it was sent).
  - name: smart-private
    guardrails: [pii-restore]
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
  - name: claude-private
    guardrails: [pii-restore]
    targets: [{{ provider: claude, model: claude-sonnet-4-5 }}]
  - name: gemini-pii-out
    guardrails: [pii-out]
    targets: [{{ provider: gem, model: gemini-2.5-flash }}]
  - name: smart-pii-out
    guardrails: [pii-out]
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
  - name: smart-no-cards-out
    guardrails: [no-cards-out]
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
guardrails:
  - {{ name: pii-restore, kind: pii, on: request, action: mask, restore: true }}
  - {{ name: pii-out, kind: pii, on: response, action: mask }}
  - {{ name: no-cards-out, kind: pii, on: response, action: reject, entities: [card] }}
cache:
  semantic: {{ embedding_model: embed-bow, threshold: 0.9, budget: 3s }}
"""
        )
    stdout_path = os.path.join(workdir, "stdout.log")
    stdout = open(stdout_path, "w")
    # The Bedrock provider's secret is in a file the config names (a second sidecar reads it too).
    with open(os.path.join(workdir, "aws-secret"), "w") as f:
        f.write(AWS_SECRET + "\n")
    env = dict(os.environ, PYTEST_PROVIDER_KEY=PROVIDER_KEY)
    process = subprocess.Popen(
        [os.path.join(BIN_DIR, "llmgw"), "serve", "--config", config], stdout=stdout, stderr=subprocess.STDOUT, env=env
    )
    try:
        _wait_for_socket(socket_path, process)
        yield Gateway(socket_path, stdout_path, mocks, config)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        for mock in processes:
            mock.send_signal(signal.SIGTERM)
            mock.wait(timeout=10)
        stdout.close()
        with open(stdout_path) as f:
            output = f.read()
        assert PROVIDER_KEY not in output, "provider key leaked into the gateway's output"
        assert AWS_SECRET not in output, "AWS secret leaked into the gateway's output"
        assert process.returncode == 0, output
