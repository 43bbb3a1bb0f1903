"""Image processor against moto's S3, with real image headers built byte by byte."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.lambda_src.helpers import AWS, create_bucket, load_handler, s3_json

BUCKET = "uploads"
NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)


def png(width: int, height: int, padding: int = 0) -> bytes:
    """A complete, decodable RGB PNG (plus an optional ancillary chunk to make it large)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x80" * 3 * width for _ in range(height))
    extra = chunk(b"tEXt", b"Comment\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def jpeg(width: int, height: int, exif_bytes: int = 0) -> bytes:
    """SOI, JFIF, optional APP1 segments (EXIF-sized), DQT, fill bytes, SOF0, SOS, EOI."""

    def segment(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data

    app1 = b""
    while exif_bytes > 0:
        size = min(exif_bytes, 65533)
        app1 += segment(0xE1, b"Exif\x00\x00" + b"\x00" * (size - 6))
        exif_bytes -= size
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + app1
        + segment(0xDB, b"\x00" + bytes(range(64)))
        + b"\xff"  # a fill byte before the next marker is legal
        + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x00" * 16
        + b"\xff\xd9"
    )


def webp(kind: bytes, width: int, height: int) -> bytes:
    if kind == b"VP8L":
        data = struct.pack("<BI", 0x2F, (width - 1) | (height - 1) << 14)
    elif kind == b"VP8X":
        data = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
        data += (height - 1).to_bytes(3, "little")
    else:
        data = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 8
    body = b"WEBP" + kind + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


class Recording:
    """The moto client, recording each call (and able to fail one operation)."""

    def __init__(self, client: Any, fail: dict[str, Exception] | None = None) -> None:
        self.client, self.fail = client, fail or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name in self.fail:
                raise self.fail[name]
            return getattr(self.client, name)(**kwargs)

        return call

    def ranges(self) -> list[str]:
        return [kwargs["Range"] for name, kwargs in self.calls if name == "get_object"]


@pytest.fixture
def s3(moto: None) -> Recording:
    create_bucket(BUCKET)
    client = AWS.client("s3")
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return Recording(client)


@pytest.fixture
def fn() -> ModuleType:
    return load_handler("image_processor")


def upload(s3: Recording, key: str, body: bytes, **extra: Any) -> dict[str, Any]:
    """Stores the object; returns the EventBridge event S3 would send for it."""
    version = s3.client.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)["VersionId"]
    s3.calls.clear()
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": BUCKET},
            "object": {"key": key, "size": len(body), "version-id": version},
        },
    }


def metadata(s3: Recording, key: str) -> Any:
    return s3_json(BUCKET, f"metadata/{key}.json")


def tags(s3: Recording, key: str, version: str | None = None) -> dict[str, str]:
    target = {"Bucket": BUCKET, "Key": key, **({"VersionId": version} if version else {})}
    return {t["Key"]: t["Value"] for t in s3.client.get_object_tagging(**target)["TagSet"]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (png(3, 2), ("png", 3, 2)),
        (gif(320, 200), ("gif", 320, 200)),
        (jpeg(640, 480), ("jpeg", 640, 480)),
        (webp(b"VP8 ", 800, 600), ("webp", 800, 600)),
        (webp(b"VP8L", 16, 9), ("webp", 16, 9)),
        (webp(b"VP8X", 4000, 3000), ("webp", 4000, 3000)),
    ],
    ids=["png", "gif", "jpeg", "webp-lossy", "webp-lossless", "webp-extended"],
)
def test_images_are_recognised_and_measured(
    fn: ModuleType, s3: Recording, body: bytes, expected: tuple[str, int, int]
) -> None:
    record = fn.process(upload(s3, "photos/a.img", body), s3, lambda: NOW)
    stored = metadata(s3, "photos/a.img")
    assert stored == record
    assert stored == {
        "key": "photos/a.img",
        "format": expected[0],
        "width": expected[1],
        "height": expected[2],
        "size": len(body),
        "processed_at": "2026-01-15T03:00:00+00:00",
    }
    assert tags(s3, "photos/a.img") == {}


def test_only_the_head_of_a_large_image_is_read(fn: ModuleType, s3: Recording) -> None:
    body = png(1, 1, padding=300_000)
    fn.process(upload(s3, "big.png", body), s3, lambda: NOW)
    assert s3.ranges() == ["bytes=0-65535"]
    assert metadata(s3, "big.png")["size"] == len(body)


def test_a_jpeg_frame_header_behind_large_exif_is_found_by_reading_further(
    fn: ModuleType, s3: Recording
) -> None:
    fn.process(upload(s3, "camera.jpg", jpeg(4032, 3024, exif_bytes=100_000)), s3, lambda: NOW)
    assert s3.ranges() == ["bytes=0-65535", "bytes=65536-131071"]
    assert (metadata(s3, "camera.jpg")["width"], metadata(s3, "camera.jpg")["height"]) == (
        4032,
        3024,
    )


def test_a_non_image_is_rejected_and_only_that_version_quarantined(
    fn: ModuleType, s3: Recording
) -> None:
    event = upload(s3, "docs/evil.png", b"MZ\x90\x00 not really a png", Tagging="owner=alice")
    later = s3.client.put_object(Bucket=BUCKET, Key="docs/evil.png", Body=png(1, 1))["VersionId"]
    record = fn.process(event, s3, lambda: NOW)
    assert record["rejected"] == "not a PNG, JPEG, GIF or WebP image"
    assert (record["format"], record["width"]) == (None, None)
    version = event["detail"]["object"]["version-id"]
    assert tags(s3, "docs/evil.png", version) == {"owner": "alice", "quarantine": "true"}
    assert tags(s3, "docs/evil.png", later) == {}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (png(1, 1)[:20], "image header incomplete within the object"),
        (b"", "empty object"),
        (jpeg(0, 10), "jpeg header gives no size (0x10)"),
        (b"\xff\xd8\xff\xd9", "JPEG without a frame header"),
    ],
    ids=["truncated-png", "empty", "zero-width-jpeg", "jpeg-without-frame"],
)
def test_broken_images_are_rejected(
    fn: ModuleType, s3: Recording, body: bytes, reason: str
) -> None:
    assert fn.process(upload(s3, "x.bin", body), s3, lambda: NOW)["rejected"] == reason
    assert tags(s3, "x.bin")["quarantine"] == "true"


def test_metadata_objects_are_ignored_so_the_function_never_loops(
    fn: ModuleType, s3: Recording
) -> None:
    event = upload(s3, "metadata/photos/a.png.json", b"{}")
    assert fn.process(event, s3, lambda: NOW)["reason"] == "metadata object"
    assert s3.calls == []
    assert fn.handler(event)["reason"] == "metadata object"  # the entry point, same answer


def test_the_entry_point_builds_its_client_once_per_container(
    fn: ModuleType, s3: Recording
) -> None:
    event = upload(s3, "metadata/photos/a.png.json", b"{}")
    fn.handler(event)
    client = fn.handler.services
    assert fn.handler(event, object())["reason"] == "metadata object"
    assert fn.handler.services is client
    assert client is not None


def test_an_object_deleted_before_processing_is_skipped(fn: ModuleType, s3: Recording) -> None:
    event = upload(s3, "gone.png", png(1, 1))
    event["detail"]["object"].pop("version-id")
    s3.client.delete_object(Bucket=BUCKET, Key="gone.png")  # a delete marker now
    assert fn.process(event, s3, lambda: NOW)["reason"] == "object no longer exists"
    assert [name for name, _ in s3.calls] == ["get_object"]


def test_transient_s3_errors_raise_so_the_event_is_retried(fn: ModuleType, s3: Recording) -> None:
    event = upload(s3, "a.png", png(1, 1))
    slow_down = ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "GetObject"
    )
    flaky = Recording(s3.client, fail={"get_object": slow_down})
    with pytest.raises(ClientError, match="SlowDown"):
        fn.process(event, flaky, lambda: NOW)
    assert [name for name, _ in flaky.calls] == ["get_object"]  # nothing written, nothing tagged


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail": {"bucket": {"name": BUCKET}}},
        {"detail": {"bucket": {}, "object": {"key": 1}}},
    ],
)
def test_malformed_events_fail_with_a_clear_error(fn: ModuleType, event: dict[str, Any]) -> None:
    with pytest.raises(fn.InvalidEventError, match=r"Object Created|must be strings"):
        fn.process(event, None, lambda: NOW)
