"""Real servers for end-to-end tests: `concord serve` as a subprocess on 127.0.0.1, polled on /readyz, always stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

# In-process clients come from this machine, as the open (keyless) service requires.
LOCAL = ("127.0.0.1", 50000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _send(
    url: str, data: bytes | None, headers: dict[str, str], method: str | None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request: status, headers (names lower-cased) and raw body, whatever the status."""
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        response = urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
) -> tuple[int, dict]:
    status, _headers, raw = _send(url, body, headers or {}, method)
    return status, json.loads(raw or b"{}")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: dict


def exchange(
    url: str, method: str = "GET", payload: object = None, headers: dict[str, str] | None = None
) -> Reply:
    """One JSON request; the status, headers and JSON body of the answer ({} when it is not JSON)."""
    data = None if payload is None else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json"} if data is not None else {}
    status, received, raw = _send(url, data, sent | (headers or {}), method)
    body = json.loads(raw) if raw and received.get("content-type", "").startswith("application/json") else {}
    return Reply(status, received, body)


def post_json(url: str, payload: dict) -> tuple[int, dict]:
    return request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def multipart_body(
    files: list[tuple[str, bytes]], document: str | None = None, **fields: str
) -> tuple[bytes, str]:
    """A multipart/form-data body with `files` parts (names sent raw, as a hostile client could), a
    `document` field and any other `fields` (ocr="both"), and its content type."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    if document is not None:
        fields = {"document": document} | fields
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        chunks.append(head.encode() + b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def upload(
    url: str, files: list[tuple[str, bytes]], document: str | None = None, **fields: str
) -> tuple[int, dict]:
    """POST multipart/form-data with `files` parts (and a `document` field, and other fields), as curl -F would."""
    body, content_type = multipart_body(files, document, **fields)
    return request(url, body, {"Content-Type": content_type})


def wait_for_job(base: str, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = request(f"{base}/v1/jobs/{job_id}")
        if status == 200 and job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


class Server:
    def __init__(self, process: subprocess.Popen, base: str, log: Path) -> None:
        self.process = process
        self.base = base
        self.log = log

    def kill(self) -> None:
        """SIGKILL: no cleanup runs, as when a machine loses power or the OOM killer strikes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def concord_env(settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    return env | {"PYTHONPATH": str(ROOT)} | settings


@contextmanager
def running_server(
    settings: dict[str, str], log: Path, ready_timeout: float = 180, wait_for: str = "/readyz"
) -> Iterator[Server]:
    """Start `concord serve` with these CONCORD_* settings; yield once `wait_for` (/readyz, or /healthz
    for a server expected not to become ready) answers 200; stop it after."""
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=concord_env(settings),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a kill reaches every thread and child
    )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited:\n{server.output()[-3000:]}")
            try:
                with urllib.request.urlopen(server.base + wait_for, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        else:
            raise AssertionError(f"server not ready in {ready_timeout} s:\n{server.output()[-3000:]}")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        handle.close()


@dataclass
class QueryLoad:
    """What a loop of queries saw while it ran: failed queries, and the index generations answering."""

    failures: list[object]
    generations: set[int]

    def wait_until(self, reached: Callable[[set[int]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not reached(self.generations) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextmanager
def query_load(
    base: str, question: dict, answered: Callable[[dict], bool] = lambda _body: True, clients: int = 2
) -> Iterator[QueryLoad]:
    """Ask `question` in a loop from `clients` threads until the block ends. A refused or dropped
    connection, a non-200 status or an answer `answered` rejects counts as a failed query."""
    seen = QueryLoad([], set())
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                status, body = post_json(base + "/v1/query", question)
            except OSError as exc:
                seen.failures.append(repr(exc))
                continue
            if status != 200 or not answered(body):
                seen.failures.append((status, body))
            else:
                seen.generations.add(body["index"]["generation"])

    threads = [threading.Thread(target=ask) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
