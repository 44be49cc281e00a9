"""No leaks: a stored key reaches the provider and nothing else.

Against the real Secret Service (gnome-keyring on a private bus), in real subprocesses:
``keys set``, then scripted turns that authenticate against the local fake provider
server (which checks it received the stored key), then every place a key could end up is
searched for its bytes: the database file with its ``-wal``/``-shm``, the log directory,
everything else under ``TUI_CHAT_HOME``, exports, ``list``/``show``, ``providers list``,
``keys list`` and the error of a failed (401) turn.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from tests.fakes.provider_wire import masked_key
from tests.keys.conftest import app_files, assert_nowhere, home, tui
from tui_chat.secrets import fingerprint

pytestmark = pytest.mark.keyring

MODEL = "fake-model-small"
#: Distinctive keys, shaped like the real ones of each kind.
KEYS = {
    "openai": "sk-proj-LeakCanary7Hq2Wz9Rt4Yp6Xn3Vb8Mc1Kd5Js0Fg",
    "anthropic": "sk-ant-api03-LeakCanary4Tb7Nq2Wx9Rz6Yp3Vm8Kc1Jd5Hs0Fg-AAAA",
}
SERVER_ONLY_KEY = "sk-server-expects-this-one-0123456789abcdef"
BASE_URL_VARS = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


def _base_url(server, kind: str) -> str:
    return server.base_url_openai if kind == "openai" else server.base_url_anthropic


def _sent_key(request) -> str | None:
    headers = request.headers
    if "x-api-key" in headers:
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


def _ran(result, outputs: list[str]) -> str:
    """An in-process command's stdout; both of its streams go into ``outputs``."""
    assert result.code == 0, result.err
    outputs += [result.out, result.err]
    return result.out


def _ok(result):
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_stored_key_authenticates_and_never_leaks(kind, secret_service_keyring, fake_provider_factory, cli):
    key = KEYS[kind]
    server = fake_provider_factory(api_key=key)
    added = f"fake-{kind}"

    # An added provider pointing at the server with --base-url, and its key.
    _ok(tui("providers", "add", added, "--kind", kind, "--base-url", _base_url(server, kind),
            "--default-model", MODEL))
    stored = _ok(tui("keys", "set", added, input=key + "\n"))
    assert fingerprint(key) in stored.stdout and key not in stored.stdout + stored.stderr
    # The built-in provider of this kind, reached through the SDK's base-URL variable.
    _ok(tui("keys", "set", kind, input=key))

    db_file = home() / "data" / "tui-chat.db"
    # Hold a connection open so that the app's WAL is not checkpointed away when it
    # exits: the -wal and -shm files are still there to be searched.
    with closing(sqlite3.connect(db_file)) as held:
        held.execute("select count(*) from provider_configs").fetchone()

        first = _ok(tui("-p", "hi", "--provider", added, "--output-format", "json"))
        conversation = json.loads(first.stdout)["conversation_id"]
        second = _ok(tui("-p", "hello", "--provider", kind, "--model", MODEL, "--output-format", "stream-json",
                         env={BASE_URL_VARS[kind]: _base_url(server, kind)}))

        # The server saw the stored key (x-api-key or "Authorization: Bearer", as the SDK sends it).
        requests = server.chat_requests()
        assert [_sent_key(r) for r in requests] == [key, key]

        # A server expecting another key: a realistic 401, whose error shows no key.
        wrong = fake_provider_factory(api_key=SERVER_ONLY_KEY)
        _ok(tui("providers", "add", f"wrong-{kind}", "--kind", kind, "--base-url", _base_url(wrong, kind),
                "--default-model", MODEL))
        _ok(tui("keys", "set", f"wrong-{kind}", input=key))
        failed = tui("-p", "hi", "--provider", f"wrong-{kind}")
        assert failed.returncode == 3, failed.stderr
        assert "authentication failed" in failed.stderr and "Traceback" not in failed.stderr
        assert _sent_key(wrong.chat_requests()[-1]) == key  # the error came from a request carrying it
        assert masked_key(key) not in failed.stderr and key[-8:] not in failed.stderr

        outputs = [stored.stdout, stored.stderr, first.stdout, first.stderr, second.stdout, second.stderr,
                   failed.stdout, failed.stderr]
        # Read-only commands in-process (quicker; same code, same keyring, same database).
        conversations = [item["id"] for item in json.loads(_ran(cli("list", "--json"), outputs))]
        assert conversation in conversations and len(conversations) == 3  # the failed turn's too
        for cid in conversations:
            _ran(cli("export", cid, "--format", "json"), outputs)
            _ran(cli("export", cid, "--format", "md"), outputs)
            _ran(cli("show", cid, "--json"), outputs)
        _ran(cli("providers", "list"), outputs)
        _ran(cli("keys", "list"), outputs)
        providers = {e["name"]: e for e in json.loads(_ran(cli("providers", "list", "--json"), outputs))}
        listed = json.loads(_ran(cli("keys", "list", "--json"), outputs))
        assert {e["name"]: e["fingerprint"] for e in listed} == {
            added: fingerprint(key), kind: fingerprint(key), f"wrong-{kind}": fingerprint(key)}
        assert providers[added]["key"]["status"] == f"keyring {fingerprint(key)}"

        wal = db_file.with_name(db_file.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 0 and db_file.with_name(db_file.name + "-shm").exists()
        files = app_files()
        assert db_file in files and wal in files
        assert_nowhere(key, *outputs)

    # The database has the reference and the fingerprint, and nothing else of the key.
    with closing(sqlite3.connect(db_file)) as conn:
        rows = dict(conn.execute("select name, key_ref from provider_configs").fetchall())
    assert rows[added] == f"keyring:tui-chat/{added}"
    assert_nowhere(key)
    # The log directory exists and was searched (empty is fine: nothing went wrong).
    assert (home() / "logs").is_dir()


def test_env_keys_are_used_never_stored(secret_service, secret_service_keyring, fake_provider_factory):
    """OPENAI_API_KEY / ANTHROPIC_API_KEY: sent to the server, written nowhere (the
    keyring is up but has no entry, so the environment is the source)."""
    keys = {"openai": "sk-envonly-openai-Zr8Xc5Vb2Nm7Lk4Jh1Gf", "anthropic": "sk-ant-envonly-Qw3Er6Ty9Ui2Op5As8Df"}
    _ok(tui("db", "upgrade"))
    outputs = []
    with closing(sqlite3.connect(home() / "data" / "tui-chat.db")) as held:  # keep the WAL for the search
        held.execute("select count(*) from provider_configs").fetchone()
        for kind, key in keys.items():
            server = fake_provider_factory(api_key=key)
            env = {f"{kind.upper()}_API_KEY": key, BASE_URL_VARS[kind]: _base_url(server, kind)}
            turn = _ok(tui("-p", "hi", "--provider", kind, "--model", MODEL, "--output-format", "json", env=env))
            assert _sent_key(server.chat_requests()[-1]) == key
            listed = _ok(tui("providers", "list", "--json", env=env))
            entry = next(e for e in json.loads(listed.stdout) if e["name"] == kind)
            assert entry["key"]["status"] == f"env {kind.upper()}_API_KEY"
            conversation = json.loads(turn.stdout)["conversation_id"]
            exported = _ok(tui("export", conversation, "--format", "json"))
            outputs += [turn.stdout, turn.stderr, listed.stdout, listed.stderr, exported.stdout]
        assert any(p.name.endswith("-wal") for p in app_files())
        for key in keys.values():
            assert_nowhere(key, *outputs)
    assert json.loads(tui("keys", "list", "--json").stdout) == []  # nothing went to the keyring
    for key in keys.values():
        for path in secret_service.files():
            assert key.encode() not in path.read_bytes(), path
