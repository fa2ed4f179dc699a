"""Files the emulated bot can see: uploads, photos residents send, and their file ids."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

_PHOTO_WIDTHS = (90, 320, 800, 1280)


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    width: int | None = None
    height: int | None = None
    file_name: str | None = None
    mime_type: str | None = None

    def file_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


def tiny_png(width: int = 4, height: int = 3, seed: int = 0) -> bytes:
    """A small valid PNG (solid colour chosen by ``seed``)."""
    colour = bytes(((seed * 67) % 256, (seed * 131) % 256, (seed * 29) % 256))
    rows = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


@dataclass
class FileStore:
    """All files, by file_id; ids are deterministic so transcripts are reproducible."""

    files: dict[str, FileRecord] = field(default_factory=dict)
    photo_groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counter: int = 0

    def _ids(self, kind: str) -> tuple[str, str]:
        self.counter += 1
        digest = hashlib.sha256(f"{kind}:{self.counter}".encode()).digest()
        prefix = {"photo": "AgACAgUAAxkBAAI", "document": "BQACAgUAAxkBAAI"}.get(
            kind, "CAACAgUAAxkBAAI"
        )
        file_id = prefix + base64.urlsafe_b64encode(digest[:36]).decode().rstrip("=")
        unique = "AQAD" + base64.urlsafe_b64encode(digest[-9:]).decode().rstrip("=")
        return file_id, unique

    def add(self, kind: str, data: bytes, **extra: Any) -> FileRecord:
        file_id, unique = self._ids(kind)
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        suffix = {"photo": ".jpg", "voice": ".oga", "video": ".mp4", "sticker": ".webp"}.get(
            kind, ""
        )
        record = FileRecord(
            file_id, unique, kind, data, f"{folder}/file_{self.counter}{suffix}", **extra
        )
        self.files[file_id] = record
        return record

    def get(self, file_id: str) -> FileRecord | None:
        return self.files.get(file_id)

    def by_path(self, path: str) -> FileRecord | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    def photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        """A PhotoSize array as Telegram makes it: several sizes, largest last."""
        width, height = image_size(data) or (1280, 960)
        sizes: list[dict[str, Any]] = []
        for limit in _PHOTO_WIDTHS:
            scale = min(1.0, limit / max(width, height))
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            record = self.add("photo", data, width=w, height=h)
            sizes.append(
                {
                    "file_id": record.file_id,
                    "file_unique_id": record.file_unique_id,
                    "file_size": len(data),
                    "width": w,
                    "height": h,
                }
            )
            if scale == 1.0:
                break
        for size in sizes:
            self.photo_groups[size["file_id"]] = sizes
        return sizes
