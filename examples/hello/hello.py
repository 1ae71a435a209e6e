"""hello: the example app opsctl deploys. One image, four process types (standard library only):

    python3 hello.py web      HTTP on $PORT (default 8000): /ping, /version, /
    python3 hello.py worker   processes jobs from SQS ($HELLO_QUEUE_URL) or a directory
    python3 hello.py clock    every $HELLO_CLOCK_INTERVAL s: ping the web service, enqueue a job
    python3 hello.py migrate  the release command: run before a new version takes traffic

Settings come from the environment (opsctl passes env.clear, the secrets and OPSCTL_* in).
Every process stops cleanly on SIGTERM, which is what `docker stop` sends.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = os.environ.get("OPSCTL_VERSION", "unknown")  # baked in by the Dockerfile, or set by the deploy
SERVICE = os.environ.get("OPSCTL_SERVICE", sys.argv[1] if len(sys.argv) > 1 else "web")
stopping = threading.Event()


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {SERVICE} {VERSION}: {message}", flush=True)


def on(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def stop_on_sigterm() -> None:
    def handler(signum: int, _frame: object) -> None:
        log(f"got signal {signum}, stopping")
        stopping.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# --- web ----------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopping server has no idle keep-alives to wait for.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # the name http.server calls
        if self.path == "/ping":
            # HELLO_FAIL_HEALTH=1 gives "an image whose health check never passes" for deploy tests.
            if on("HELLO_FAIL_HEALTH"):
                self.reply(500, "unhealthy (HELLO_FAIL_HEALTH is set)\n")
            else:
                self.reply(200, "pong\n")
        elif self.path == "/version":
            self.reply(200, VERSION + "\n")
        elif self.path == "/":
            greeting = os.environ.get("GREETING", "hello")
            secret = "set" if os.environ.get("HELLO_SECRET_KEY") else "not set"
            self.reply(
                200,
                f"{greeting} from {socket.gethostname()}: version {VERSION}, "
                f"env {os.environ.get('OPSCTL_ENV', '-')}, release {os.environ.get('OPSCTL_RELEASE', '-')}, "
                f"HELLO_SECRET_KEY {secret}\n",
            )
        else:
            self.reply(404, "not found\n")

    def reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        if self.path != "/ping":  # health checks would drown everything else
            log(f"{self.address_string()} {format % args}")


def web() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # all interfaces: in a container
    # Join request threads on close: SIGTERM lets in-flight requests finish before the exit.
    server.daemon_threads = False
    server.block_on_close = True
    stop_on_sigterm()

    def stop_when_told() -> None:
        # shutdown() waits for serve_forever() to return, so it must run in another thread.
        stopping.wait()
        server.shutdown()

    threading.Thread(target=stop_when_told, daemon=True).start()
    log(f"listening on :{port}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log("stopped")


# --- jobs: an SQS queue, or a local directory -----------------------------------------------------


class DirQueue:
    """Jobs are JSON files in a directory; a worker claims one by renaming it (atomic)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def send(self, job: dict[str, object]) -> None:
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(job))
        tmp.rename(self.path / f"{name}.json")

    def receive(self) -> dict[str, object] | None:
        for file in sorted(self.path.glob("*.json")):
            claimed = file.with_suffix(f".{os.getpid()}.work")
            try:
                file.rename(claimed)
            except FileNotFoundError:  # another worker took it
                continue
            job: dict[str, object] = json.loads(claimed.read_text())
            claimed.unlink()
            return job
        stopping.wait(1.0)
        return None


def sign_v4(
    headers: dict[str, str],
    body: bytes,
    now: datetime.datetime,
    region: str,
    service: str,
    key_id: str,
    secret: str,
) -> dict[str, str]:
    """AWS Signature Version 4 for a POST to "/": the headers plus x-amz-date and authorization."""
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {k.lower(): v for k, v in headers.items()} | {"x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            *(f"{k}:{headers[k]}" for k in sorted(headers)),
            "",
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return headers


class SqsQueue:
    """The three SQS calls we need, over HTTP with the JSON protocol and Signature V4 (no boto3
    in the image). The endpoint is $AWS_ENDPOINT_URL if set, else the queue URL's own host."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        parsed = urllib.parse.urlsplit(os.environ.get("AWS_ENDPOINT_URL") or queue_url)
        self.endpoint = f"{parsed.scheme}://{parsed.netloc}/"
        self.host = parsed.netloc
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.key = os.environ.get("AWS_ACCESS_KEY_ID", "")
        self.secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")

    def call(self, action: str, params: dict[str, object]) -> dict[str, object]:
        body = json.dumps({"QueueUrl": self.queue_url, **params}).encode()
        headers = {
            "content-type": "application/x-amz-json-1.0",
            "host": self.host,
            "x-amz-target": f"AmazonSQS.{action}",
        }
        now = datetime.datetime.now(datetime.UTC)
        headers = sign_v4(headers, body, now, self.region, "sqs", self.key, self.secret)
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, object] = json.loads(response.read() or b"{}")
            return answer

    def send(self, job: dict[str, object]) -> None:
        self.call("SendMessage", {"MessageBody": json.dumps(job)})

    def receive(self) -> dict[str, object] | None:
        answer = self.call("ReceiveMessage", {"MaxNumberOfMessages": 1, "WaitTimeSeconds": 1})
        messages = answer.get("Messages") or []
        if not isinstance(messages, list) or not messages:
            return None
        message = messages[0]
        self.call("DeleteMessage", {"ReceiptHandle": message["ReceiptHandle"]})
        job: dict[str, object] = json.loads(message["Body"])
        return job


def job_queue() -> DirQueue | SqsQueue:
    queue_url = os.environ.get("HELLO_QUEUE_URL")
    if queue_url:
        log(f"jobs: SQS queue {queue_url} (HELLO_QUEUE_URL is set)")
        return SqsQueue(queue_url)
    jobs_dir = Path(os.environ.get("HELLO_JOBS_DIR", "/tmp/hello-jobs"))
    log(f"jobs: directory {jobs_dir} (HELLO_QUEUE_URL is not set)")
    return DirQueue(jobs_dir)


def worker() -> None:
    stop_on_sigterm()
    queue = job_queue()
    log("waiting for jobs")
    while not stopping.is_set():
        try:
            job = queue.receive()
        except OSError as exc:  # the queue is unreachable: keep the process up and retry
            log(f"cannot receive jobs: {exc}; retrying in 5 s")
            stopping.wait(5)
            continue
        if job is not None:
            log(f"processed job {job.get('id')} from {job.get('from')}: {job.get('note')}")
    log("stopped")


# --- clock ----------------------------------------------------------------------------------------


def default_web_url() -> str:
    """The host's ingress: the container's default gateway is the Docker host, where opsctl's
    proxy listens on port 80. Outside a container this is the router, so set HELLO_WEB_URL."""
    try:
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000":  # the default route
                gateway = socket.inet_ntoa(int(fields[2], 16).to_bytes(4, "little"))
                return f"http://{gateway}/"
    except (OSError, IndexError, ValueError):
        pass
    return "http://127.0.0.1/"


def clock() -> None:
    stop_on_sigterm()
    interval = float(os.environ.get("HELLO_CLOCK_INTERVAL", "10"))
    url = os.environ.get("HELLO_WEB_URL") or default_web_url()
    queue = job_queue()
    log(f"every {interval:g} s: ping {url} and enqueue a job")
    tick = 0
    while not stopping.wait(interval):
        tick += 1
        try:
            with urllib.request.urlopen(urllib.parse.urljoin(url, "/version"), timeout=5) as r:
                seen = r.read().decode().strip()
        except OSError as exc:
            seen = f"unreachable ({exc})"
        try:
            queue.send({"id": f"{socket.gethostname()}-{tick}", "from": "clock", "note": f"web is {seen}"})
            log(f"tick {tick}: web is {seen}; job enqueued")
        except OSError as exc:
            log(f"tick {tick}: web is {seen}; cannot enqueue: {exc}")
    log("stopped")


# --- release command --------------------------------------------------------------------------------


def migrate() -> None:
    """Idempotent, as a release command must be: it may run again for the same version."""
    log("checking the schema")
    if on("HELLO_MIGRATE_FAIL"):
        log("FAILED (HELLO_MIGRATE_FAIL is set)")
        sys.exit(1)
    log(f"schema is up to date for version {VERSION}; nothing to do")


COMMANDS = {"web": web, "worker": worker, "clock": clock, "migrate": migrate}

if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "web"
    if command not in COMMANDS:
        sys.exit(f"usage: hello.py {{{'|'.join(COMMANDS)}}}")
    COMMANDS[command]()
