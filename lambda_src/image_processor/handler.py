"""Image processor: S3 "Object Created" events (through EventBridge) -> image metadata in S3.

Reads only the head of the object (ranged GETs), recognises PNG, JPEG, GIF and WebP by their
magic bytes and takes width and height from the headers (pure Python; JPEG walks its segments
to the frame header, reading further only when large EXIF/ICC segments come first). Writes
metadata/<key>.json to the same bucket: {key, format, width, height, size, processed_at}.

Anything that is not a readable image gets a record with "rejected": <reason> and is tagged
quarantine=true (existing tags kept). Keys under metadata/ are ignored, so the function never
triggers itself. Transient S3 errors raise, so EventBridge/Lambda retry the event and finally
dead-letter it; an object deleted before it was processed is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from shared import env, logs

METADATA_PREFIX = "metadata/"
HEAD_BYTES = int(os.environ.get("HEAD_BYTES", str(64 * 1024)))
MAX_HEAD_BYTES = int(os.environ.get("MAX_HEAD_BYTES", str(1024 * 1024)))
"""A JPEG whose frame header lies further in than this is rejected rather than read whole."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
# SOF0-SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
JPEG_EOI, JPEG_SOS = 0xD9, 0xDA
JPEG_MARKER = 0xFF  # starts every marker, and may repeat as fill
JPEG_MIN_SEGMENT = 2  # a segment's length counts its own two bytes
VP8_START_CODE = b"\x9d\x01\x2a"
VP8L_SIGNATURE = 0x2F
DIMENSION_MASK = 0x3FFF  # VP8 and VP8L store 14-bit dimensions

logger = logs.json_logger("image_processor")
log = logs.Log(logger)


class InvalidEventError(ValueError):
    """The event is not an S3 Object Created event this function understands."""


class NotAnImageError(ValueError):
    """The bytes are not a PNG, JPEG, GIF or WebP image with a readable size."""


class TruncatedError(Exception):
    """The header runs past the bytes read so far."""


def unpack(fmt: str, data: bytes, offset: int) -> tuple[Any, ...]:
    if offset + struct.calcsize(fmt) > len(data):
        raise TruncatedError
    return struct.unpack_from(fmt, data, offset)


def png_size(data: bytes) -> tuple[int, int]:
    _length, chunk, width, height = unpack(">I4sII", data, 8)
    if chunk != b"IHDR":
        raise NotAnImageError("PNG without an IHDR chunk first")
    return width, height


def gif_size(data: bytes) -> tuple[int, int]:
    width, height = unpack("<HH", data, 6)
    return width, height


def jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2  # after SOI
    while True:
        if unpack("B", data, pos)[0] != JPEG_MARKER:
            raise NotAnImageError("corrupt JPEG: marker expected")
        while unpack("B", data, pos)[0] == JPEG_MARKER:
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in JPEG_STANDALONE:
            continue
        if marker in (JPEG_EOI, JPEG_SOS):
            raise NotAnImageError("JPEG without a frame header")
        (length,) = unpack(">H", data, pos)
        if length < JPEG_MIN_SEGMENT:
            raise NotAnImageError("corrupt JPEG: segment length below 2")
        if marker in JPEG_SOF:
            _precision, height, width = unpack(">BHH", data, pos + 2)
            return width, height
        pos += length


def webp_size(data: bytes) -> tuple[int, int]:
    (chunk,) = unpack("4s", data, 12)
    if chunk == b"VP8 ":  # lossy: a key frame's start code, then 14-bit sizes
        start_code, width, height = unpack("<3sHH", data, 23)
        if start_code != VP8_START_CODE:
            raise NotAnImageError("corrupt VP8 frame")
        return width & DIMENSION_MASK, height & DIMENSION_MASK
    if chunk == b"VP8L":  # lossless: signature byte, then (width-1, height-1) in 14 bits each
        signature, bits = unpack("<BI", data, 20)
        if signature != VP8L_SIGNATURE:
            raise NotAnImageError("corrupt VP8L header")
        return (bits & DIMENSION_MASK) + 1, ((bits >> 14) & DIMENSION_MASK) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        width, height = unpack("<3s3s", data, 24)
        return int.from_bytes(width, "little") + 1, int.from_bytes(height, "little") + 1
    raise NotAnImageError(f"unknown WebP chunk {chunk!r}")


def identify(data: bytes) -> tuple[str, int, int]:
    """(format, width, height); TruncatedError when the header needs more bytes."""
    parsers: list[tuple[Callable[[bytes], bool], str, Callable[[bytes], tuple[int, int]]]] = [
        (lambda d: d.startswith(PNG_SIGNATURE), "png", png_size),
        (lambda d: d.startswith(b"\xff\xd8\xff"), "jpeg", jpeg_size),
        (lambda d: d[:6] in GIF_SIGNATURES, "gif", gif_size),
        (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", "webp", webp_size),
    ]
    for matches, name, size in parsers:
        if matches(data):
            width, height = size(data)
            if not (width and height):
                raise NotAnImageError(f"{name} header gives no size ({width}x{height})")
            return name, width, height
    raise NotAnImageError("not a PNG, JPEG, GIF or WebP image")


def object_ref(event: Mapping[str, Any]) -> tuple[str, str, int | None, str | None]:
    detail: Any = event.get("detail")  # checked by use: any shape error is a bad event
    try:
        bucket, obj = detail["bucket"]["name"], detail["object"]
        key = obj["key"]
    except (KeyError, TypeError) as err:
        raise InvalidEventError(f"not an S3 Object Created event: no {err}") from err
    if not (isinstance(bucket, str) and isinstance(key, str) and bucket and key):
        raise InvalidEventError("detail.bucket.name and detail.object.key must be strings")
    size, version = obj.get("size"), obj.get("version-id")
    return bucket, key, size if isinstance(size, int) else None, version


def read_range(s3: Any, target: dict[str, str], start: int, end: int) -> tuple[bytes, int]:
    """Bytes start..end (inclusive, clipped by S3 to the object) and the object's total size."""
    response = s3.get_object(**target, Range=f"bytes={start}-{end}")
    data: bytes = response["Body"].read()
    total = response.get("ContentRange", "").rpartition("/")[2]
    return data, int(total) if total.isdigit() else start + len(data)


def inspect(s3: Any, target: dict[str, str], size: int | None) -> tuple[dict[str, Any], int]:
    """The image fields or a rejection, and the object's size; reads only as far as needed."""
    if size == 0:
        return {"rejected": "empty object"}, 0
    try:
        data, total = read_range(s3, target, 0, HEAD_BYTES - 1)
    except ClientError as err:  # a range of an empty object is unsatisfiable
        if err.response["Error"]["Code"] != "InvalidRange":
            raise
        data, total = b"", 0
    if not total:
        return {"rejected": "empty object"}, 0
    while True:
        try:
            name, width, height = identify(data)
            return {"format": name, "width": width, "height": height}, total
        except NotAnImageError as err:
            return {"rejected": str(err)}, total
        except TruncatedError:
            if len(data) >= min(total, MAX_HEAD_BYTES):
                what = "object" if len(data) >= total else f"first {MAX_HEAD_BYTES} bytes"
                return {"rejected": f"image header incomplete within the {what}"}, total
        more, total = read_range(s3, target, len(data), min(2 * len(data), MAX_HEAD_BYTES) - 1)
        if not more:  # the object shrank under us: judge what we have
            return {"rejected": "image header incomplete within the object"}, total
        data += more


def quarantine(s3: Any, target: dict[str, str]) -> None:
    """Adds quarantine=true; PutObjectTagging replaces the set, so the other tags are kept."""
    tags = [tag for tag in s3.get_object_tagging(**target)["TagSet"] if tag["Key"] != "quarantine"]
    s3.put_object_tagging(
        **target, Tagging={"TagSet": [*tags, {"Key": "quarantine", "Value": "true"}]}
    )


def process(
    event: Mapping[str, Any], s3: Any, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    bucket, key, size, version = object_ref(event)
    if key.startswith(METADATA_PREFIX):  # our own output: processing it would loop
        return {"skipped": key, "reason": "metadata object"}
    target = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
    try:
        fields, total = inspect(s3, target, size)
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("NoSuchKey", "NoSuchVersion"):
            raise  # throttling, 5xx, access denied: fail so the event is retried
        log(logging.INFO, "object gone before processing", bucket=bucket, key=key)
        return {"skipped": key, "reason": "object no longer exists"}
    record = {
        "key": key,
        "format": None,
        "width": None,
        "height": None,
        **fields,
        "size": total,
        "processed_at": clock().isoformat(),
    }
    if "rejected" in record:
        quarantine(s3, target)
    s3.put_object(
        Bucket=bucket,
        Key=f"{METADATA_PREFIX}{key}.json",
        Body=json.dumps(record).encode(),
        ContentType="application/json",
    )
    log(logging.INFO, "object processed", bucket=bucket, **record)
    return record


def services_from_env(environ: Mapping[str, str], aws: Any = boto3) -> Any:
    """The production wiring, the S3 client (no settings); `aws`: boto3 or a boto3.Session."""
    return aws.client("s3")


handler = env.EntryPoint(services_from_env, process)
"""The Lambda entry point: the S3 client lives as long as the container."""
