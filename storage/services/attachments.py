"""Attachments: files attached to messages, their content stored once per SHA-256.

Content goes to ``base_dir/<sha[:2]>/<sha>``: written only if not already there, to a
temporary file in the same directory that is flushed to disk and renamed into place
(so a crash never leaves half a file under a content name), readable by the owner only.
Each attachment row points at that path, so the same file attached twice costs one copy.

Metadata is read from the content without third-party libraries: for text, whether it
is UTF-8 (with or without BOM) or UTF-16 (by BOM) and its line count; for PNG, GIF and
JPEG images, their dimensions from the headers.
"""

from __future__ import annotations

import codecs
import hashlib
import mimetypes
import os
import stat
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from .. import enums
from ..errors import Conflict, NotFound, StorageError, ValidationError
from ..models import Attachment, Conversation, Message, User
from .base import Service, to_record

CHUNK = 1024 * 1024
HEAD = 256 * 1024
TEXT_MIME_PREFIXES = ("text/",)
TEXT_MIME_TYPES = frozenset({
    "application/json", "application/xml", "application/javascript", "application/x-sh", "application/toml",
    "application/yaml", "application/x-yaml", "application/sql", "application/x-python-code",
})


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: str
    conversation_id: str | None
    message_id: str | None
    file_name: str
    original_name: str
    mime_type: str | None
    size: int
    storage_path: str
    content_hash: str
    metadata: dict[str, Any]
    status: str
    created_at: datetime


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _too_big(name: str, size: int) -> ValidationError:
    return ValidationError(
        "file", f"{name} is {_mb(size)}; attachments are limited to {_mb(enums.MAX_ATTACHMENT_BYTES)}"
    )


def safe_file_name(name: str) -> str:
    """The base name with path separators and control characters replaced."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join("_" if ord(ch) < 32 or ch in '<>:"|?*' else ch for ch in base).strip(" .")
    return clean or "file"


def image_size(head: bytes) -> dict[str, Any] | None:
    """Format and dimensions of a PNG, GIF or JPEG from its first bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return {"format": "png", "width": width, "height": height}
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return {"format": "gif", "width": width, "height": height}
    if head.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 <= len(head):
            if head[index] != 0xFF:
                index += 1  # tolerate padding between segments
                continue
            marker = head[index + 1]
            if marker == 0xFF:
                index += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
                index += 2
                continue
            length = struct.unpack(">H", head[index + 2 : index + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", head[index + 5 : index + 9])
                return {"format": "jpeg", "width": width, "height": height}
            if marker == 0xDA or length < 2:  # start of scan: no frame header found
                return None
            index += 2 + length
    return None


class _Inspector:
    """Hashes, measures and inspects content as it streams past."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.lines = 0
        self.last = b""
        self.has_nul = False
        self.decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes) -> None:
        self.sha.update(chunk)
        self.size += len(chunk)
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        self.lines += chunk.count(b"\n")
        self.has_nul = self.has_nul or b"\x00" in chunk
        self.last = chunk[-1:] or self.last
        if self.decoder is not None:
            try:
                self.decoder.decode(chunk)
            except UnicodeDecodeError:
                self.decoder = None

    def metadata(self, mime_type: str) -> dict[str, Any]:
        image = image_size(self.head)
        if image is not None:
            return {"kind": "image", **image}
        utf8 = self.decoder is not None
        if utf8:
            try:
                self.decoder.decode(b"", final=True)  # type: ignore[union-attr]
            except UnicodeDecodeError:
                utf8 = False
        if self.head.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif utf8 and not self.has_nul:
            encoding = "utf-8-sig" if self.head.startswith(codecs.BOM_UTF8) else "utf-8"
        else:
            encoding = None
        textual = mime_type.startswith(TEXT_MIME_PREFIXES) or mime_type in TEXT_MIME_TYPES
        # Text by its type, or of no known type and decoding as text.
        if not textual and (encoding is None or mime_type != "application/octet-stream"):
            return {"kind": "binary"}
        lines = self.lines + (1 if self.size and self.last != b"\n" else 0)
        return {"kind": "text", "encoding": encoding or "unknown", "line_count": lines}


def _chunks(stream: BinaryIO, name: str) -> Iterator[bytes]:
    total = 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > enums.MAX_ATTACHMENT_BYTES:  # the file grew while it was read
            raise _too_big(name, total)
        yield chunk


def _write_content(source: Path | bytes, name: str, base_dir: Path) -> tuple[_Inspector, Path]:
    """Stream ``source`` into a temporary file in ``base_dir`` while inspecting it, then
    move it to its content path (or drop it if that content is already stored)."""
    base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    inspector = _Inspector()
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=base_dir)  # created 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(source, bytes):
                for start in range(0, len(source), CHUNK):
                    chunk = source[start : start + CHUNK]
                    inspector.feed(chunk)
                    out.write(chunk)
            else:
                with source.open("rb") as stream:
                    for chunk in _chunks(stream, name):
                        inspector.feed(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        digest = inspector.sha.hexdigest()
        shard = base_dir / digest[:2]
        shard.mkdir(exist_ok=True, mode=0o700)
        target = shard / digest
        if target.exists() and target.stat().st_size == inspector.size:
            tmp.unlink()
        else:
            os.replace(tmp, target)
        return inspector, target
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class AttachmentService(Service):
    def store(
        self,
        user_id: str,
        source: str | Path | bytes,
        *,
        original_name: str | None = None,
        mime_type: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        base_dir: Path,
    ) -> AttachmentRecord:
        """Store a file (a path, or bytes with ``original_name``) and record it."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = bytes(source)
            if original_name is None:
                raise ValidationError("original_name", "is required when storing bytes")
            size = len(source)
        else:
            source = Path(source)
            try:
                info = source.stat()
            except OSError as error:
                raise ValidationError("file", f"cannot read {source}: {error.strerror or error}") from None
            if not stat.S_ISREG(info.st_mode):
                raise ValidationError("file", f"{source} is not a regular file")
            original_name = original_name if original_name is not None else source.name
            size = info.st_size
        if not isinstance(original_name, str) or not original_name.strip() or "\x00" in original_name:
            raise ValidationError("original_name", "must be a file name")
        if len(original_name) > enums.MAX_FILE_NAME_LENGTH:
            raise ValidationError("original_name", f"is {len(original_name)} characters; "
                                                   f"the limit is {enums.MAX_FILE_NAME_LENGTH}")
        if size > enums.MAX_ATTACHMENT_BYTES:
            raise _too_big(original_name, size)
        if mime_type is not None and (not isinstance(mime_type, str) or "/" not in mime_type or len(mime_type) > 200):
            raise ValidationError("mime_type", f"{mime_type!r} is not a MIME type")
        with self.db.read() as session:  # fail before writing content for a bad target
            self._check_target(session, user_id, conversation_id, message_id)
        try:
            inspector, path = _write_content(source, original_name, Path(base_dir))
        except OSError as error:
            raise StorageError(f"cannot store {original_name}: {error.strerror or error}") from None
        if mime_type is None:
            mime_type = mimetypes.guess_type(original_name, strict=False)[0]
        if mime_type is None:
            image = image_size(inspector.head)
            mime_type = f"image/{image['format']}" if image else "application/octet-stream"
        metadata = inspector.metadata(mime_type)
        if mime_type == "application/octet-stream" and metadata["kind"] == "text":
            mime_type = "text/plain"
        with self.db.write() as session:
            conversation_id = self._check_target(session, user_id, conversation_id, message_id)
            row = Attachment(
                user_id=user_id, conversation_id=conversation_id, message_id=message_id,
                file_name=safe_file_name(original_name), original_name=original_name, mime_type=mime_type,
                size=inspector.size, storage_path=str(path.resolve()), content_hash=inspector.sha.hexdigest(),
                meta=metadata, status="ready",
            )
            session.add(row)
            session.flush()
            return self._record(row)

    def get(self, user_id: str, attachment_id: str) -> AttachmentRecord:
        with self.db.read() as session:
            return self._record(self._row(session, user_id, attachment_id))

    def link(self, user_id: str, attachment_id: str, message_id: str) -> AttachmentRecord:
        """Attach a stored file to a message (of the same conversation, if it had one)."""
        with self.db.write() as session:
            row = self._row(session, user_id, attachment_id)
            found = session.execute(
                select(Message.conversation_id).where(Message.id == message_id, Message.user_id == user_id)
            ).one_or_none()
            if found is None:
                raise NotFound("message", message_id)
            if row.message_id is not None and row.message_id != message_id:
                raise Conflict(f"{row.original_name} is already attached to another message")
            if row.conversation_id is not None and row.conversation_id != found[0]:
                raise Conflict(f"{row.original_name} belongs to another conversation")
            row.message_id, row.conversation_id = message_id, found[0]
            session.flush()
            return self._record(row)

    def list_for_message(self, user_id: str, message_id: str) -> list[AttachmentRecord]:
        with self.db.read() as session:
            if session.scalar(select(Message.id).where(Message.id == message_id, Message.user_id == user_id)) is None:
                raise NotFound("message", message_id)
            return self._list(session, user_id, Attachment.message_id == message_id)

    def list_for_conversation(self, user_id: str, conversation_id: str) -> list[AttachmentRecord]:
        with self.db.read() as session:
            if session.scalar(select(Conversation.id).where(
                    Conversation.id == conversation_id, Conversation.user_id == user_id)) is None:
                raise NotFound("conversation", conversation_id)
            return self._list(session, user_id, Attachment.conversation_id == conversation_id)

    def read_bytes(self, user_id: str, attachment_id: str) -> bytes:
        """The content, checked against its SHA-256."""
        with self.db.read() as session:
            row = self._row(session, user_id, attachment_id)
            path, digest, name = Path(row.storage_path), row.content_hash, row.original_name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound("attachment content", str(path)) from None
        except OSError as error:
            raise StorageError(f"cannot read {name}: {error.strerror or error}") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise StorageError(f"the stored content of {name} has changed on disk ({path})")
        return data

    # --- internals ------------------------------------------------------------------

    @staticmethod
    def _record(row: Attachment) -> AttachmentRecord:
        return to_record(AttachmentRecord, row, metadata=dict(row.meta or {}))

    def _list(self, session: Any, user_id: str, condition: Any) -> list[AttachmentRecord]:
        rows = session.scalars(
            select(Attachment).where(Attachment.user_id == user_id, condition)
            .order_by(Attachment.created_at, Attachment.id)
        ).all()
        return [self._record(row) for row in rows]

    @staticmethod
    def _check_target(session: Any, user_id: str, conversation_id: str | None, message_id: str | None) -> str | None:
        """Check the conversation and message are the user's; returns the conversation."""
        if session.get(User, user_id) is None:
            raise NotFound("user", user_id)
        if message_id is not None:
            found = session.execute(
                select(Message.conversation_id).where(Message.id == message_id, Message.user_id == user_id)
            ).one_or_none()
            if found is None:
                raise NotFound("message", message_id)
            if conversation_id is not None and conversation_id != found[0]:
                raise ValidationError("message_id", "the message is in another conversation")
            return found[0]
        if conversation_id is not None and session.scalar(
            select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
        ) is None:
            raise NotFound("conversation", conversation_id)
        return conversation_id

    @staticmethod
    def _row(session: Any, user_id: str, attachment_id: str) -> Attachment:
        row = session.scalars(
            select(Attachment).where(Attachment.id == attachment_id, Attachment.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("attachment", attachment_id)
        return row
