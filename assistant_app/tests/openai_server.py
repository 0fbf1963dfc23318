"""A local HTTP server that speaks the OpenAI chat-completions contract, scripted per test.

It stands in for OpenAI / vLLM / Ollama the way the e-mail tests' server
stands in for SendGrid: the model engine talks real HTTP to it. Each step of
the script answers one ``POST /v1/chat/completions`` with ``tool_calls`` or
with text, or fails (status code, a stall past the client's timeout).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from todo_project.testing import serving

Step = Callable[[dict[str, Any]], tuple[int, dict[str, Any] | None]]


def tool_calls(*calls: tuple[str, Any]) -> Step:
    """Answer with one tool call per (name, arguments); arguments may be a raw string."""

    def step(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for i, (name, args) in enumerate(calls)
            ],
        }
        return 200, _completion(body, message, "tool_calls")

    return step


def says(text: str) -> Step:
    def step(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _completion(body, {"role": "assistant", "content": text}, "stop")

    return step


def status(code: int) -> Step:
    def step(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return code, {"error": {"message": "scripted failure", "type": "server_error"}}

    return step


def stall(seconds: float) -> Step:
    def step(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        time.sleep(seconds)
        return 200, _completion(body, {"role": "assistant", "content": "too late"}, "stop")

    return step


def _completion(body: dict[str, Any], message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@dataclass
class ScriptedModel:
    url: str
    steps: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def script(self, *steps: Step) -> None:
        self.steps[:] = list(steps)
        self.requests.clear()
        self.headers.clear()


@contextmanager
def scripted_model() -> Iterator[ScriptedModel]:
    model = ScriptedModel(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                model.requests.append(body)
                model.headers.append(dict(self.headers))
                step = model.steps.pop(0) if model.steps else says("(script exhausted)")
            if self.path != "/v1/chat/completions":
                code, answer = 404, {"error": {"message": "not found"}}
            else:
                code, answer = step(body)  # type: ignore[assignment]  # a step answers a JSON object
            data = json.dumps(answer).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout tests)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    model.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    with serving(server):
        yield model
