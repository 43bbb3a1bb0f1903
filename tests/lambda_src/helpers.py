"""What the function tests share, imported by them (fixtures live in conftest.py): the handlers
loaded from their folders (importing `shared` from lambda_src/, as a function imports it from its
asset's root), moto's AWS through one boto3 session, SQS records, and a local HTTP server
standing in for the services the functions call."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import moto  # noqa: F401 (before AWS below: moto's stub joins only sessions made after its import)
import pytest

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
if str(LAMBDA_SRC) not in sys.path:
    sys.path.insert(0, str(LAMBDA_SRC))
REGION = "ap-northeast-2"
AWS = boto3.Session(
    region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
)
"""One session for every test: moto resets boto3's default session on every start, and loading
the service models again for each test would cost more than the tests themselves."""
UNREACHABLE = "http://127.0.0.1:9/unreachable"
"""Nothing listens there: every attempt fails at once."""


def load_handler(name: str) -> ModuleType:
    """lambda_src/<name>/handler.py as a new module, its settings read from the environment now;
    registered as <name>_handler (dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_handler", LAMBDA_SRC / name / "handler.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def setenv(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def create_table(name: str) -> None:
    """An idempotency table as the platform creates it (partition key job_id)."""
    AWS.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def create_bucket(name: str) -> None:
    AWS.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )


def create_secret(name: str, value: str | None) -> str:
    """The new secret's ARN; `None`: created without a value, as a provided secret may be."""
    stored = {"SecretString": value} if value is not None else {}
    arn: str = AWS.client("secretsmanager").create_secret(Name=name, **stored)["ARN"]
    return arn


def put_secret(arn: str, value: str) -> None:
    AWS.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=value)


def table_item(table: str, job_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        AWS.resource("dynamodb").Table(table).get_item(Key={"job_id": job_id}).get("Item")
    )
    return found


def s3_json(bucket: str, key: str) -> Any:
    """The JSON object at s3://bucket/key."""
    return json.loads(AWS.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def keys(bucket: str, prefix: str) -> list[str]:
    listed = AWS.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def record(message_id: str, body: Any) -> dict[str, Any]:
    """An SQS record; a body that is not a string is sent as JSON."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": message_id, "body": text, "attributes": {"ApproximateReceiveCount": "1"}}


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def failed(*message_ids: str) -> dict[str, list[dict[str, str]]]:
    """The partial batch response failing `message_ids`."""
    return {"batchItemFailures": [{"itemIdentifier": m} for m in message_ids]}


def capture(lines: list[dict[str, Any]]) -> Callable[[str], None]:
    """Writes JSON lines into `lines`, parsed."""
    return lambda line: lines.append(json.loads(line))


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    """By lower-case name."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer(HTTPServer):
    """Answers each request with the next of `statuses` (200 once none are queued): a 200 with
    `pages[path]`, else `answer` (JSON, or bytes as they are; None: 404 Not Found), any other
    status with an error object; a path in `redirects` with a 302 to its target. Every request
    is kept in `received`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.statuses: list[int] = []
        self.pages: dict[str, Any] = {}
        self.answer: Any = b"ok"
        self.redirects: dict[str, str] = {}
        self.received: list[Received] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def bodies(self) -> list[Any]:
        return [request.json() for request in self.received]

    def reply(self, path: str, status: int) -> tuple[int, bytes]:
        body = self.pages.get(path, self.answer) if status == 200 else {"error": "try later"}
        if body is None:
            status, body = 404, {"error": "not found"}
        return status, body if isinstance(body, bytes) else json.dumps(body).encode()


class _Answer(BaseHTTPRequestHandler):
    server: LocalServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append(Received(self.command, self.path, headers, body))
        queued = self.server.statuses
        status, data = self.server.reply(self.path, queued.pop(0) if queued else 200)
        target = self.server.redirects.get(self.path)
        self.send_response(302 if target else status)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass
