"""Files attached to a prompt (``--attach`` and the TUI's attach action).

Text files are inlined into the prompt (up to a limit, with a clear error past it);
images become image parts for vision models. Every file is stored once by sha256 in
the app's attachments directory and recorded in the ``attachments`` table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AppError, ExitCode

if TYPE_CHECKING:
    from storage import Storage

    from .paths import AppPaths

MAX_INLINE_TEXT_BYTES = 512 * 1024
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def sniff_image(head: bytes) -> str | None:
    for signature, mime in IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def load_attachments(storage: "Storage", user_id: str, files: list[str], prompt: str,
                     paths: "AppPaths") -> tuple[list[dict[str, Any]], str]:
    """Read, check and store ``files``; return the message parts and the prompt with
    text files inlined."""
    parts: list[dict[str, Any]] = []
    inlined: list[str] = []
    for name in files:
        path = Path(name).expanduser()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise AppError(f"--attach: no such file: {name}", ExitCode.USAGE) from None
        except IsADirectoryError:
            raise AppError(f"--attach: {name} is a directory, not a file", ExitCode.USAGE) from None
        except OSError as exc:
            raise AppError(f"--attach: cannot read {name}: {exc.strerror}", ExitCode.USAGE) from None
        image_type = sniff_image(data[:16])
        if image_type is None:
            if b"\x00" in data[:8192]:
                raise AppError(f"--attach: {name} is a binary file; attach text files or images", ExitCode.USAGE)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise AppError(f"--attach: {name} is not UTF-8 text (bad byte at {exc.start})", ExitCode.USAGE) from None
            if len(data) > MAX_INLINE_TEXT_BYTES:
                raise AppError(f"--attach: {name} is {len(data):,} bytes; text files are inlined up to "
                               f"{MAX_INLINE_TEXT_BYTES:,} bytes", ExitCode.USAGE)
        from storage import StorageError

        try:
            record = storage.attachments.store(user_id, data, original_name=path.name,
                                               mime_type=image_type, base_dir=paths.attachments_dir)
        except StorageError as exc:
            raise AppError(f"--attach: {name}: {exc}", ExitCode.USAGE) from exc
        if image_type is not None:
            parts.append({"type": "image", "attachment_id": record.id, "mime_type": image_type, "name": path.name})
        else:
            parts.append({"type": "file", "attachment_id": record.id, "mime_type": record.mime_type or "text/plain",
                          "name": path.name, "size": len(data)})
            inlined.append(f'<file name="{path.name}">\n{text}\n</file>')
    if inlined:
        prompt = prompt + "\n\n" + "\n\n".join(inlined)
    return parts, prompt
