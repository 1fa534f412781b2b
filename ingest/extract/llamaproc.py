"""The local backend as the rest of signalkb uses it: llama.cpp in a child process.

llama.cpp is native code: a bad build (AMX kernels on a CPU whose kernel does not hand
out tile state), a corrupt model or a bug segfaults or aborts, and in-process that takes
the whole batch or the web server down with it. Here the model lives in one long-lived
worker per (model file, context size, LoRA adapter), `python -m ingest.extract.llamaproc`,
started on first use. If the worker dies mid-answer, the call raises a `BackendError`
("model process died: signal 11 (SIGSEGV)") for that article only, and the next call starts
a new worker; the batch goes on and the server stays up.

Protocol, one request at a time, JSON lines both ways: the child first answers
`{"ready": {"model_id": ..., "load_s": ...}}` (or `{"error": ...}`), then for each request
`{"op": "complete", ...}` or `{"op": "count_tokens", "text": ...}` it answers
`{"ok": VALUE}` or `{"error": MESSAGE}`.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, ClassVar

from ingest.extract.base import ChatModel, Message
from ingest.extract.llamacpp import BASE_MODELS, check_gguf, model_label, resolve_model
from kb.errors import BackendError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# How long past its deadline (or at all, without one) an answer may take before the worker
# is taken for hung and killed: generous, since a loaded 2-core machine is slow.
ANSWER_GRACE_S = 120.0
LOAD_TIMEOUT_S = 300.0


class _Worker:
    """One child process holding one loaded model; restarted after it dies."""

    def __init__(
        self, path: Path, n_ctx: int, repeat_penalty: float, chat: bool, lora_path: Path | None
    ) -> None:
        self.path = path
        mode = "chat" if chat else "plain"
        self.args = [str(path), str(n_ctx), str(repeat_penalty), mode, str(lora_path or "")]
        self.lock = threading.Lock()  # one request in the pipe at a time
        self.child: subprocess.Popen[bytes] | None = None
        self.load_s = 0.0
        self._buffer = b""
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        return self.child.pid if self.child is not None and self.child.poll() is None else None

    def ask(self, request: dict[str, Any], timeout: float) -> Any:
        """Send one request and return the child's answer; BackendError when it dies."""
        with self.lock:
            child = self.child if self.child is not None else self._start()
            assert child.stdin is not None
            try:
                child.stdin.write(json.dumps(request).encode() + b"\n")
                child.stdin.flush()
            except OSError:
                raise self._died() from None
            answer = self._read(timeout)
        if "error" in answer:
            raise BackendError(answer["error"], source=str(self.path))
        return answer["ok"]

    def close(self) -> None:
        """Stop the child: closing its stdin tells it to exit."""
        with self.lock:
            self._stop()

    def _start(self) -> subprocess.Popen[bytes]:
        paths = [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        self._buffer = b""
        self._stderr_tail.clear()
        self.child = subprocess.Popen(
            [sys.executable, "-m", "ingest.extract.llamaproc", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        threading.Thread(target=self._drain_stderr, args=(self.child,), daemon=True).start()
        ready = self._read(LOAD_TIMEOUT_S)
        if "error" in ready:
            self._stop()
            raise BackendError(ready["error"], source=str(self.path))
        self.load_s = float(ready["ready"]["load_s"])
        return self.child

    def _drain_stderr(self, child: subprocess.Popen[bytes]) -> None:
        # llama.cpp's own messages never reach the user's terminal; the last few lines
        # go into the error when the child dies.
        assert child.stderr is not None
        for line in child.stderr:
            self._stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    def _read(self, timeout: float) -> dict[str, Any]:
        """One JSON line from the child, or BackendError if it dies or hangs."""
        assert self.child is not None and self.child.stdout is not None
        fd = self.child.stdout.fileno()
        end = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = end - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.child.kill()
                    self.child.wait()
                    self.child = None
                    raise BackendError(
                        f"model process gave no answer in {timeout:.0f} s; it was stopped",
                        source=str(self.path),
                    )
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise self._died()
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _died(self) -> BackendError:
        """The error for a child that exited mid-request; the next request starts anew."""
        assert self.child is not None
        child, self.child = self.child, None
        try:
            code = child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        if code < 0:
            how = f"signal {-code} ({signal.Signals(-code).name})"
        else:
            how = f"exit status {code}"
        detail = next((line for line in reversed(self._stderr_tail) if line.strip()), "")
        hint = f"; last message: {detail[:200]}" if detail else ""
        return BackendError(f"model process died: {how}{hint}", source=str(self.path))

    def _stop(self) -> None:
        if self.child is None:
            return
        child, self.child = self.child, None
        with contextlib.suppress(OSError):
            assert child.stdin is not None
            child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


_workers: dict[tuple[str, int, float, str], _Worker] = {}
_workers_lock = threading.Lock()


@atexit.register
def close_workers() -> None:
    """Stop every model worker of this process."""
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.close()


class LlamaProcessModel(ChatModel):
    """A GGUF model run by llama.cpp in a child process (see the module docstring).

    The model file (and the LoRA adapter, a llama.cpp GGUF adapter, when given) is checked
    here, so a missing or corrupt file fails fast with a clear error; the worker starts on
    the first question and is shared by every instance with the same files and settings.
    """

    name: ClassVar[str] = "llamacpp"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        repeat_penalty: float = 1.2,
        deadline: float | None = None,
        lora_path: Path | None = None,
    ) -> None:
        self.model = model
        self.path = resolve_model(model)
        check_gguf(self.path)
        self.lora_path = lora_path
        if lora_path is not None:
            check_gguf(lora_path)
        self.deadline = deadline
        key = (str(self.path.resolve()), n_ctx, repeat_penalty, str(lora_path or ""))
        chat = model not in BASE_MODELS
        with _workers_lock:
            if key not in _workers:
                _workers[key] = _Worker(self.path, n_ctx, repeat_penalty, chat, lora_path)
            self.worker = _workers[key]

    @property
    def model_id(self) -> str:
        """Backend, model and adapter, e.g. `llamacpp:smollm2` or `llamacpp:smollm2+tuned`."""
        adapter = f"+{self.lora_path.stem}" if self.lora_path is not None else ""
        return f"{self.name}:{model_label(self.model, self.path)}{adapter}"

    def load(self) -> float:
        """Start the worker now (not on the first question); seconds the model took to load."""
        self.worker.ask({"op": "count_tokens", "text": ""}, LOAD_TIMEOUT_S)
        return self.worker.load_s

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes in this model."""
        return int(self.worker.ask({"op": "count_tokens", "text": text}, ANSWER_GRACE_S))

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        """Greedy completion in the worker; constrained to `json_schema` when given."""
        left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        request = {
            "op": "complete",
            "messages": [[m.role, m.content] for m in messages],
            "json_schema": json_schema,
            "max_tokens": max_tokens,
            "stop": stop,
            "repeat_penalty": repeat_penalty,
            "seconds_left": left,
        }
        timeout = (left if left is not None else 0.0) + ANSWER_GRACE_S
        return str(self.worker.ask(request, timeout))


def serve(args: list[str], stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child's loop: load the model, then answer each request until stdin closes."""
    from ingest.extract.llamacpp import LlamaCppModel

    path, n_ctx, repeat_penalty, mode, lora = args

    def send(answer: dict[str, Any]) -> None:
        stdout.write(json.dumps(answer).encode() + b"\n")
        stdout.flush()

    start = time.monotonic()
    try:
        model = LlamaCppModel(
            path,
            n_ctx=int(n_ctx),
            repeat_penalty=float(repeat_penalty),
            lora_path=Path(lora) if lora else None,
        )
    except BackendError as exc:
        send({"error": exc.message})
        return
    model.chat = mode == "chat"
    send({"ready": {"model_id": model.model_id, "load_s": round(time.monotonic() - start, 3)}})
    for line in stdin:
        request = json.loads(line)
        try:
            if request["op"] == "count_tokens":
                send({"ok": model.count_tokens(request["text"])})
                continue
            left = request["seconds_left"]
            model.deadline = None if left is None else time.monotonic() + left
            text = model.complete(
                [Message(role, content) for role, content in request["messages"]],
                json_schema=request["json_schema"],
                max_tokens=request["max_tokens"],
                stop=request["stop"],
                repeat_penalty=request.get("repeat_penalty"),
            )
            send({"ok": text})
        except BackendError as exc:
            send({"error": exc.message})


if __name__ == "__main__":
    # Answers go to the original stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.argv[1:], sys.stdin.buffer, answers)
