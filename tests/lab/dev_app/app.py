"""The dev test app: /db answers from the database in $DATABASE_URL (the rows the release step
wrote), /queues lists the SQS queues at $AWS_ENDPOINT_URL, `migrate` is the release step."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2


def database() -> dict[str, object]:
    with psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), current_user, host(inet_server_addr()), inet_server_port(), "
                    "version()")
        name, user, host, port, version = cur.fetchone()
        cur.execute("SELECT note FROM releases ORDER BY id")
        notes = [row[0] for row in cur.fetchall()]
    return {"database": name, "user": user, "host": host, "port": port, "version": version, "notes": notes}


def queues() -> str:
    url = os.environ["AWS_ENDPOINT_URL"] + "/?Action=ListQueues&Version=2012-11-05"
    # moto routes a request by the service named in its signature (which it does not check);
    # the region and key id are the ones dev up put in the environment.
    scope = f"{os.environ['AWS_ACCESS_KEY_ID']}/20260101/{os.environ['AWS_REGION']}/sqs/aws4_request"
    request = urllib.request.Request(url, headers={
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/ping":
            self.reply(200, "pong")
        elif self.path == "/db":
            self.reply(200, json.dumps(database()))
        elif self.path == "/queues":
            self.reply(200, queues())
        elif self.path == "/env":
            self.reply(200, json.dumps({k: ("set" if os.environ.get(k) else "unset")
                                        for k in ("DATABASE_URL", "APP_SECRET_KEY", "GREETING")}))
        else:
            self.reply(404, "not found")

    def reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def migrate() -> None:
    with psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS releases (id serial PRIMARY KEY, note text NOT NULL)")
        cur.execute("INSERT INTO releases (note) VALUES (%s)", (f"migrated {os.environ.get('OPSCTL_VERSION')}",))
    print("migrated", flush=True)


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "web"
    if kind == "migrate":
        migrate()
    elif kind == "worker":
        while True:
            time.sleep(3600)
    else:
        ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
