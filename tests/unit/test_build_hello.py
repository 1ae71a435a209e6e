"""The example app (examples/hello/hello.py) outside Docker: its signing, its processes, SIGTERM."""

from __future__ import annotations

import datetime
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello" / "hello.py"


def load_hello() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hello_example", HELLO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sign_v4_matches_botocore() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    hello = load_hello()
    body = b'{"QueueUrl": "http://127.0.0.1:5051/123456789012/q", "MaxNumberOfMessages": 1}'
    now = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    base = {
        "content-type": "application/x-amz-json-1.0",
        "host": "127.0.0.1:5051",
        "x-amz-target": "AmazonSQS.ReceiveMessage",
    }
    ours = hello.sign_v4(base, body, now, "us-east-1", "sqs", "AKIDEXAMPLE", "secretkey")

    # botocore's own steps with the clock fixed (add_auth would read the real time).
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    request = AWSRequest(method="POST", url="http://127.0.0.1:5051/", data=body, headers=dict(base))
    request.headers["X-Amz-Date"] = amz_date
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secretkey"), "sqs", "us-east-1")
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    assert ours["x-amz-date"] == amz_date
    assert ours["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240506/us-east-1/sqs/aws4_request, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(command: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELLO), command],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def connect(port: int) -> socket.socket:
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def get(port: int, path: str) -> tuple[int, str]:
    with connect(port) as conn:
        conn.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def test_web_answers_and_finishes_in_flight_requests_on_sigterm() -> None:
    port = free_port()
    proc = start("web", PORT=str(port), OPSCTL_VERSION="v42")
    try:
        assert get(port, "/ping") == (200, "pong\n")
        assert get(port, "/version") == (200, "v42\n")
        assert get(port, "/nope")[0] == 404
        # A request that has started (connection accepted, request half sent) when SIGTERM
        # arrives is still answered; then the process exits 0.
        conn = connect(port)
        conn.sendall(b"GET /version HTTP/1.0\r\n")
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.sendall(b"\r\n")
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
        conn.close()
        assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(b"v42\n")
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        out = proc.communicate()[0]
    assert "stopped" in out


def test_fail_health_knob() -> None:
    port = free_port()
    proc = start("web", PORT=str(port), HELLO_FAIL_HEALTH="1")
    try:
        assert get(port, "/ping")[0] == 500
        assert get(port, "/version")[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_clock_enqueues_and_worker_processes_from_a_directory(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "HELLO_JOBS_DIR": str(tmp_path),
        "HELLO_CLOCK_INTERVAL": "0.2",
        "HELLO_WEB_URL": f"http://127.0.0.1:{port}/",
        "PORT": str(port),
        "OPSCTL_VERSION": "v9",
    }
    web, clock, worker = start("web", **env), start("clock", **env), start("worker", **env)
    try:
        time.sleep(2.5)
    finally:
        for proc in (clock, worker, web):
            proc.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=10) for p in (clock, worker, web)]
        outputs = [p.communicate()[0] for p in (clock, worker, web)]
    assert codes == [0, 0, 0]
    clock_out, worker_out, _ = outputs
    assert "jobs: directory" in worker_out and "HELLO_QUEUE_URL is not set" in worker_out
    assert "web is v9; job enqueued" in clock_out
    assert "processed job" in worker_out and "web is v9" in worker_out


def test_migrate_succeeds_and_can_be_made_to_fail() -> None:
    ok = subprocess.run([sys.executable, str(HELLO), "migrate"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "nothing to do" in ok.stdout
    failed = subprocess.run(
        [sys.executable, str(HELLO), "migrate"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HELLO_MIGRATE_FAIL": "1"},
    )
    assert failed.returncode == 1 and "FAILED" in failed.stdout
