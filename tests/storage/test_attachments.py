"""Attachments: content stored once by hash, safely; metadata; links; reading back."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import zlib
from pathlib import Path

import pytest

from storage import Conflict, NotFound, Storage, StorageError, ValidationError, enums
from storage.models import Attachment, Conversation
from storage.services.attachments import image_size, safe_file_name

from .factories import fetch, make_conversation, make_message


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 100) + b"\x00" * 100
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + exif + sof + b"\xff\xda" + b"\x00" * 20 + b"\xff\xd9"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
def conv(store: Storage, user_id: str) -> str:
    return make_conversation(store.db, user_id)


def test_store_bytes_writes_content_once_owner_only(store: Storage, user_id: str, conv: str, base: Path) -> None:
    data = b"print('hello')\nprint('world')\n"
    a = store.attachments.store(user_id, data, original_name="hello.py", conversation_id=conv, base_dir=base)
    digest = hashlib.sha256(data).hexdigest()
    path = base / digest[:2] / digest
    assert a.content_hash == digest and a.size == len(data) and Path(a.storage_path) == path.resolve()
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert a.mime_type.startswith("text/") and a.metadata == {"kind": "text", "encoding": "utf-8", "line_count": 2}
    b = store.attachments.store(user_id, data, original_name="copy.py", base_dir=base)
    assert b.id != a.id and b.storage_path == a.storage_path
    assert [p.name for p in base.rglob("*") if p.is_file()] == [digest]  # one copy, no temp files left


def test_store_from_path(store: Storage, user_id: str, tmp_path: Path, base: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes("first\r\nsecond\nthird, no newline".encode())
    a = store.attachments.store(user_id, source, base_dir=base)
    assert a.original_name == "notes.txt" and a.mime_type == "text/plain"
    assert a.metadata == {"kind": "text", "encoding": "utf-8", "line_count": 3}
    assert store.attachments.read_bytes(user_id, a.id) == source.read_bytes()


def test_metadata_kinds(store: Storage, user_id: str, base: Path) -> None:
    def meta(data: bytes, name: str, mime: str | None = None) -> tuple[str | None, dict]:
        record = store.attachments.store(user_id, data, original_name=name, mime_type=mime, base_dir=base)
        return record.mime_type, record.metadata

    assert meta(png(640, 480), "shot.png") == ("image/png", {"kind": "image", "format": "png", "width": 640,
                                                             "height": 480})
    assert meta(png(3, 2), "no-extension") == ("image/png", {"kind": "image", "format": "png", "width": 3,
                                                            "height": 2})
    gif = b"GIF89a" + struct.pack("<HH", 320, 200) + b"\x00" * 10
    assert meta(gif, "anim.gif")[1] == {"kind": "image", "format": "gif", "width": 320, "height": 200}
    assert meta(jpeg(1920, 1080), "photo.jpg") == ("image/jpeg", {"kind": "image", "format": "jpeg",
                                                                  "width": 1920, "height": 1080})
    assert meta("café\n".encode("latin-1"), "menu.txt")[1] == {"kind": "text", "encoding": "unknown",
                                                               "line_count": 1}
    assert meta(b"\xef\xbb\xbfbom\n", "bom.csv")[1]["encoding"] == "utf-8-sig"
    assert meta("hi\n".encode("utf-16"), "wide.txt")[1]["encoding"] == "utf-16"
    assert meta(bytes(range(256)), "blob.bin") == ("application/octet-stream", {"kind": "binary"})
    assert meta(b"fn main() {}\n", "main.unknownext") == ("text/plain", {"kind": "text", "encoding": "utf-8",
                                                                        "line_count": 1})
    assert meta(b"%PDF-1.4 ascii only", "doc.pdf") == ("application/pdf", {"kind": "binary"})
    assert meta(b"", "empty.txt")[1] == {"kind": "text", "encoding": "utf-8", "line_count": 0}


def test_image_size_rejects_truncated_headers() -> None:
    assert image_size(png(10, 10)[:20]) is None
    assert image_size(b"\xff\xd8\xff\xe0\x00\x10JFIF") is None
    assert image_size(b"GIF8") is None


def test_limits(store: Storage, user_id: str, tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="255"):
        store.attachments.store(user_id, b"x", original_name="n" * 256, base_dir=base)
    with pytest.raises(ValidationError):
        store.attachments.store(user_id, b"x", base_dir=base)  # bytes need a name
    with pytest.raises(ValidationError, match="cannot read"):
        store.attachments.store(user_id, tmp_path / "missing.txt", base_dir=base)
    with pytest.raises(ValidationError, match="not a regular file"):
        store.attachments.store(user_id, tmp_path, base_dir=base)
    with pytest.raises(ValidationError):
        store.attachments.store(user_id, b"x", original_name="x", mime_type="nonsense", base_dir=base)
    monkeypatch.setattr(enums, "MAX_ATTACHMENT_BYTES", 10)
    big = tmp_path / "big.log"
    big.write_bytes(b"y" * 11)
    with pytest.raises(ValidationError, match="limited to"):
        store.attachments.store(user_id, big, base_dir=base)
    with pytest.raises(ValidationError, match="limited to"):
        store.attachments.store(user_id, b"z" * 11, original_name="z", base_dir=base)
    assert not base.exists() or not any(p.is_file() for p in base.rglob("*"))


def test_bad_target_writes_nothing(store: Storage, user_id: str, other_user_id: str, conv: str, base: Path) -> None:
    with pytest.raises(NotFound):
        store.attachments.store(other_user_id, b"data", original_name="d", conversation_id=conv, base_dir=base)
    message = make_message(store.db, user_id, conv)
    with pytest.raises(ValidationError):
        store.attachments.store(user_id, b"data", original_name="d", message_id=message,
                                conversation_id=make_conversation(store.db, user_id), base_dir=base)
    assert not base.exists()


def test_link_and_lists(store: Storage, user_id: str, conv: str, base: Path) -> None:
    message = make_message(store.db, user_id, conv)
    other_message = make_message(store.db, user_id, conv)
    a = store.attachments.store(user_id, b"a", original_name="a.txt", conversation_id=conv, base_dir=base)
    b = store.attachments.store(user_id, b"b", original_name="b.txt", base_dir=base)
    c = store.attachments.store(user_id, b"c", original_name="c.txt", message_id=other_message, base_dir=base)
    assert c.conversation_id == conv
    linked = store.attachments.link(user_id, b.id, message)
    assert linked.message_id == message and linked.conversation_id == conv
    store.attachments.link(user_id, a.id, message)
    assert [x.id for x in store.attachments.list_for_message(user_id, message)] == [a.id, b.id]
    assert [x.id for x in store.attachments.list_for_conversation(user_id, conv)] == [a.id, b.id, c.id]
    with pytest.raises(Conflict):
        store.attachments.link(user_id, c.id, message)
    elsewhere = make_message(store.db, user_id, make_conversation(store.db, user_id))
    d = store.attachments.store(user_id, b"d", original_name="d", conversation_id=conv, base_dir=base)
    with pytest.raises(Conflict):
        store.attachments.link(user_id, d.id, elsewhere)


def test_read_bytes_detects_missing_and_changed_content(store: Storage, user_id: str, base: Path) -> None:
    a = store.attachments.store(user_id, b"original", original_name="o.txt", base_dir=base)
    path = Path(a.storage_path)
    os.chmod(path, 0o600)
    path.write_bytes(b"tampered")
    with pytest.raises(StorageError, match="changed on disk"):
        store.attachments.read_bytes(user_id, a.id)
    path.unlink()
    with pytest.raises(NotFound):
        store.attachments.read_bytes(user_id, a.id)


def test_deleting_the_conversation_deletes_its_attachments(store: Storage, user_id: str, conv: str,
                                                          base: Path) -> None:
    a = store.attachments.store(user_id, b"x", original_name="x", conversation_id=conv, base_dir=base)
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    assert fetch(store.db, Attachment, a.id) is None


def test_safe_file_name() -> None:
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("C:\\Users\\me\\report.pdf") == "report.pdf"
    assert safe_file_name("a\x00b<c>.txt") == "a_b_c_.txt"
    assert safe_file_name("...") == "file"
