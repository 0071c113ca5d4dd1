"""The OpenAI Responses API on llmgw's front (`/v1/responses`), with the official `openai` SDK over the
gateway's Unix socket, against every provider kind the fixture runs: passed through to the OpenAI
and Azure mocks (`smart`, `azure`), translated for Anthropic (`claude`) and Gemini (`gemini`, `gemini3`).

Every `Response` object and every stream event is validated against the Open Responses OpenAPI
schemas (openresponses/openapi.json) with jsonschema.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile

import httpx
import jsonschema
import openai
import pytest
from conftest import _wait_for_socket

RESPONSES_MODELS = ["smart", "azure", "claude", "gemini", "gemini3", "bedrock"]
PASSTHROUGH_MODELS = ["smart", "azure"]
TRANSLATED_MODELS = ["claude", "gemini", "gemini3", "bedrock"]

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}

with open(os.path.join(os.path.dirname(__file__), "openresponses", "openapi.json")) as _f:
    _SPEC = json.load(_f)
_SCHEMAS = _SPEC["components"]["schemas"]
# Each streaming event schema by the `type` it fixes.
_EVENT_SCHEMAS = {}
for _name, _schema in _SCHEMAS.items():
    _type = _schema.get("properties", {}).get("type", {}).get("enum")
    if _name.endswith("StreamingEvent") and _type:
        _EVENT_SCHEMAS[_type[0]] = _name


def _validator(name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": _SPEC["components"]}
    return jsonschema.Draft202012Validator(schema)


def assert_valid_response(obj):
    errors = sorted(_validator("ResponseResource").iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def assert_valid_event(event):
    name = _EVENT_SCHEMAS.get(event["type"])
    assert name, f"event type {event['type']} is not in the Open Responses spec"
    errors = list(_validator(name).iter_errors(event))
    assert not errors, (event["type"], [f"{list(e.path)}: {e.message}" for e in errors[:5]])


@pytest.fixture()
def client(gateway):
    http_client = httpx.Client(transport=httpx.HTTPTransport(uds=gateway.socket))
    return openai.OpenAI(api_key="unused-by-gateway", base_url="http://localhost/v1", http_client=http_client, max_retries=0)


def raw_events(gateway, body):
    """The SSE events of a streamed Responses request, as (event name, JSON data)."""
    with gateway.http() as http:
        with http.stream("POST", "/v1/responses", json=body) as response:
            assert response.status_code == 200, response.read()
            text = "".join(response.iter_text())
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = json.loads("".join(line[6:] for line in lines if line.startswith("data: ")))
        events.append((name, data))
    return events


def without_ids(obj):
    """A Response with what differs between two answers to the same request blanked: ids, times."""
    obj = json.loads(json.dumps(obj))
    for key in ("id", "created_at", "completed_at"):
        obj.pop(key, None)
    for item in obj.get("output", []):
        item.pop("id", None)
        item.pop("call_id", None)
        # What the SDK's stream helper adds while parsing (`parsed`, `parsed_arguments`).
        item.pop("parsed_arguments", None)
        for part in item.get("content") or []:
            part.pop("parsed", None)
    obj.pop("service_tier", None)
    return obj


@pytest.mark.parametrize("model", RESPONSES_MODELS)
def test_create_per_kind(client, gateway, model):
    response = client.responses.create(model=model, input="Hello there", instructions="Be brief.")
    assert response.status == "completed"
    assert "Hello" in response.output_text
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    with gateway.http() as http:
        raw = http.post("/v1/responses", json={"model": model, "input": "Hello there"})
    assert raw.status_code == 200
    assert raw.headers["x-llmgw-provider"]
    if model in TRANSLATED_MODELS:
        # What llmgw writes itself. A passed-through body is the provider's (OpenAI's 2025 bodies
        # lack the penalty fields the spec requires).
        assert_valid_response(raw.json())


@pytest.mark.parametrize("model", RESPONSES_MODELS)
def test_stream_per_kind_matches_the_plain_answer(client, gateway, model):
    request = {"model": model, "input": "Tell me a story", "max_output_tokens": 64}
    with client.responses.stream(**request) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert types[0] == "response.created" and types[1] == "response.in_progress"
    assert types[-1] == "response.completed"
    assert "response.output_text.delta" in types
    plain = client.responses.create(**request)
    assert without_ids(final.model_dump(mode="json")) == without_ids(plain.model_dump(mode="json"))
    assert final.output_text == plain.output_text

    events = raw_events(gateway, dict(request, stream=True))
    for number, (name, data) in enumerate(events):
        assert name == data["type"]
        assert data["sequence_number"] == number
        if model in TRANSLATED_MODELS:
            assert_valid_event(data)
    if model in TRANSLATED_MODELS:
        assert_valid_response(events[-1][1]["response"])
    assert all("[DONE]" not in json.dumps(data) for _, data in events)


@pytest.mark.parametrize("model", RESPONSES_MODELS)
def test_tool_round_trip_with_function_call_output(client, model):
    first = client.responses.create(model=model, input="What is the weather in Paris?", tools=[WEATHER_TOOL])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments)["city"]
    # Stateless: the whole conversation again, with the tool's output.
    history = [{"role": "user", "content": "What is the weather in Paris?"}]
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "18C, cloudy"})
    second = client.responses.create(model=model, input=history, tools=[WEATHER_TOOL])
    assert "18C, cloudy" in second.output_text
    # Stateful: only the output, continuing the stored chain.
    chained = client.responses.create(
        model=model,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "21C, sunny"}],
        tools=[WEATHER_TOOL],
    )
    assert "21C, sunny" in chained.output_text
    # A passthrough target got the chain inline (docs/dialects.md), so its answer names none.
    assert chained.previous_response_id == (None if model in PASSTHROUGH_MODELS else first.id)


@pytest.mark.parametrize("model", TRANSLATED_MODELS)
def test_streamed_tool_call_through_the_sdk_helper(client, model):
    with client.responses.stream(model=model, input="Weather in Rome?", tools=[WEATHER_TOOL]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    assert len(calls) == 1
    assert json.loads(calls[0].arguments)["city"]


@pytest.fixture()
def second_sidecar(gateway):
    """Another llmgw on the same config and shared state, on a socket of its own."""
    workdir = tempfile.mkdtemp(prefix="llmgw-py2-")
    socket_path = os.path.join(workdir, "gw2.sock")
    with open(gateway.config) as f:
        config = f.read().replace(gateway.socket, socket_path)
    path = os.path.join(workdir, "llmgw.yaml")
    with open(path, "w") as f:
        f.write(config)
    log = open(os.path.join(workdir, "stdout.log"), "w")
    env = dict(os.environ, PYTEST_PROVIDER_KEY="sk-llmgw-pytest-DO-NOT-LEAK-42c0ffee")
    from conftest import BIN_DIR

    process = subprocess.Popen(
        [os.path.join(BIN_DIR, "llmgw"), "serve", "--config", path], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        _wait_for_socket(socket_path, process)
        http_client = httpx.Client(transport=httpx.HTTPTransport(uds=socket_path))
        yield openai.OpenAI(
            api_key="unused-by-gateway", base_url="http://localhost/v1", http_client=http_client, max_retries=0
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("model", RESPONSES_MODELS)
def test_previous_response_id_on_another_sidecar(client, second_sidecar, model):
    first = client.responses.create(model=model, input="My name is Ada.")
    second = second_sidecar.responses.create(model=model, previous_response_id=first.id, input="What is my name?")
    assert second.status == "completed"
    assert "What is my name?" in second.output_text
    assert second.previous_response_id == (None if model in PASSTHROUGH_MODELS else first.id)
    # And it is stored there too: readable from the first sidecar.
    assert client.responses.retrieve(second.id).output_text == second.output_text


@pytest.mark.parametrize("model", RESPONSES_MODELS)
def test_unknown_previous_response_is_a_clear_400(client, model):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=model, previous_response_id="resp_doesnotexist", input="Hi")
    assert raised.value.code == "previous_response_not_found"
    assert raised.value.param == "previous_response_id"


def test_store_false_is_not_kept(client):
    response = client.responses.create(model="claude", input="Forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="claude", previous_response_id=response.id, input="Hi")


def test_retrieve_and_delete(client):
    created = client.responses.create(model="gemini", input="Keep this")
    fetched = client.responses.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


@pytest.mark.parametrize("model", TRANSLATED_MODELS)
def test_built_in_tools_are_refused_naming_the_field(client, model):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=model, input="Search the web", tools=[{"type": "web_search"}])
    assert raised.value.param == "tools[0].type"
    assert "web_search" in raised.value.message


@pytest.mark.parametrize("model", TRANSLATED_MODELS)
def test_background_is_refused(client, model):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=model, input="Later", background=True)
    assert raised.value.param == "background"


@pytest.mark.parametrize("model", ["smart-cut", "claude-cut"])
def test_mid_stream_error_raises_in_the_sdk(client, gateway, model):
    with pytest.raises(openai.APIError):
        stream = client.responses.create(model=model, input="A long answer please " * 4, stream=True)
        for _ in stream:
            pass
    events = raw_events(gateway, {"model": model, "input": "A long answer please " * 4, "stream": True})
    name, last = events[-1]
    assert name == "error" and last["type"] == "error"
    assert last["error"]["message"]
    assert last["sequence_number"] == len(events) - 1
    assert_valid_event(last) if model == "claude-cut" else None


def test_access_line_and_cache_headers(client, gateway):
    with gateway.http() as http:
        answer = http.post("/v1/responses", json={"model": "claude", "input": "Log me"})
    assert answer.status_code == 200
    line = gateway.access_line(answer.headers["x-request-id"])
    assert line["route"] == "/v1/responses"
    assert line["model"] == "claude"
    assert line["status"] == 200
    assert line["prompt_tokens"] > 0


def test_a_failure_before_output_fails_over_invisibly(client, gateway):
    """The held preamble (response.created, response.in_progress) of the failed Anthropic attempt
    never reaches the client: the stream is the next target's alone, with one response id."""
    with client.responses.stream(model="claude-then-smart", input="Hello there") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.type for e in events].count("response.created") == 1
    assert final.status == "completed" and "Hello" in final.output_text
    with gateway.http() as http:
        answer = http.post("/v1/responses", json={"model": "claude-then-smart", "input": "Hi", "stream": True})
    line = gateway.access_line(answer.headers["x-request-id"])
    assert line["provider"] == "mock"
    # The failed target is retried once (the retry policy), then the next one answers.
    assert line["attempts"][-1]["target"] == "mock/gpt-4o-mini"
    assert all(a["error"] == "in-band error before any output" for a in line["attempts"][:-1])
