"""``tui-chat keys`` and ``tui-chat providers`` in-process, over the in-memory keyring.

(The real Secret Service, subprocesses and the scripted turn are in the other modules.)
"""

from __future__ import annotations

import json

import pytest

from storage import Storage
from tui_chat.paths import database_url
from tui_chat.secrets import INDEX_USERNAME, fingerprint

KEY = "sk-proj-Qm4Wn7Eb2Rv9Tc5Yx1Uz8Ia3Os6Pd0Lf"
OTHER_KEY = "sk-ant-api03-Hj5Kl8Zx2Cv4Bn7Mq1We9Er3Ty6"
SERVICE = "tui-chat"


def _rows() -> dict:
    storage = Storage.open(database_url())
    try:
        user = storage.users.ensure(None)
        return {row.name: row for row in storage.providers.list(user.id)}
    finally:
        storage.close()


# --- keys -------------------------------------------------------------------------------


def test_keys_set_list_remove_round_trip(cli, memory_keyring):
    result = cli("keys", "set", "openai", stdin=KEY + "\n")
    assert result.code == 0, result.err
    assert fingerprint(KEY) in result.out
    assert KEY not in result.output
    assert memory_keyring.entries[(SERVICE, "openai")] == KEY  # stripped of the newline

    listed = cli("keys", "list")
    assert listed.code == 0
    line = next(l for l in listed.out.splitlines() if l.startswith("openai"))
    assert fingerprint(KEY) in line and line.rstrip().endswith("openai")  # used by the built-in

    as_json = json.loads(cli("keys", "list", "--json").out)
    assert as_json == [{"name": "openai", "fingerprint": fingerprint(KEY), "ref": "keyring:tui-chat/openai",
                        "providers": ["openai"]}]

    removed = cli("keys", "remove", "openai")
    assert removed.code == 0 and "removed" in removed.out
    assert (SERVICE, "openai") not in memory_keyring.entries
    assert json.loads(cli("keys", "list", "--json").out) == []
    again = cli("keys", "remove", "openai")
    assert again.code == 2 and "no key named 'openai'" in again.err


def test_builtin_keys_create_no_database_row(cli, memory_keyring):
    """A built-in provider's key is the keyring entry of its name: no row is created
    (a row would also make it the "first provider added", hence the default)."""
    assert cli("keys", "set", "anthropic", stdin=KEY).code == 0
    assert _rows() == {}


def test_keys_set_records_reference_on_an_added_provider(cli, memory_keyring):
    assert cli("providers", "add", "work", "--kind", "openai-compatible", "--base-url", "http://127.0.0.1:9/v1").code == 0
    assert _rows()["work"].key_ref is None
    result = cli("keys", "set", "work", stdin=KEY)
    assert result.code == 0 and "note:" not in result.err
    row = _rows()["work"]
    assert (row.key_ref, row.key_fingerprint) == ("keyring:tui-chat/work", fingerprint(KEY))
    listed = json.loads(cli("keys", "list", "--json").out)
    assert listed[0]["providers"] == ["work"]
    assert cli("keys", "remove", "work").code == 0
    row = _rows()["work"]
    assert (row.key_ref, row.key_fingerprint) == (None, None)


def test_keys_set_for_an_unknown_provider_warns(cli, memory_keyring):
    result = cli("keys", "set", "later", stdin=KEY)
    assert result.code == 0
    assert "no provider is named 'later'" in result.err
    assert json.loads(cli("keys", "list", "--json").out)[0]["providers"] == []


@pytest.mark.parametrize("argv", [
    ("keys", "set", "openai", KEY),
    ("keys", "set", "openai", f"--key={KEY}"),
    ("keys", "set", "openai", "--api-key", KEY),
    ("keys", "set", "--key", KEY, "openai"),
    ("keys", "remove", "openai", KEY),
])
def test_a_key_on_the_command_line_is_refused_without_echo(cli, memory_keyring, argv):
    result = cli(*argv, stdin=OTHER_KEY)
    assert result.code == 2
    assert KEY not in result.output
    assert memory_keyring.entries == {}


def test_a_key_in_place_of_the_name_is_refused_without_echo(cli, memory_keyring):
    result = cli("keys", "set", KEY, stdin=OTHER_KEY)
    assert result.code == 2 and "looks like an API key" in result.err
    assert KEY not in result.output and memory_keyring.entries == {}
    long_random = "a8F3k9Q2m7Z1x6W4c5V0b2N8j3H7g1D9"
    assert cli("keys", "set", long_random, stdin=OTHER_KEY).code == 2


@pytest.mark.parametrize("stdin, message", [
    ("", "the key is empty"),
    ("  \n\n", "the key is empty"),
    (f"{KEY}\n{OTHER_KEY}\n", "spaces, line breaks"),
    ("x" * 5000, "longer than 4096"),
])
def test_bad_key_input_is_a_usage_error(cli, memory_keyring, stdin, message):
    result = cli("keys", "set", "openai", stdin=stdin)
    assert result.code == 2 and message in result.err
    assert KEY not in result.output and OTHER_KEY not in result.output
    assert memory_keyring.entries == {}


def test_invalid_key_name(cli, memory_keyring):
    result = cli("keys", "set", "bad name!", stdin=KEY)
    assert result.code == 2 and "invalid key name" in result.err


def test_keys_list_empty(cli, memory_keyring):
    result = cli("keys", "list")
    assert result.code == 0 and result.out == "" and "no keys" in result.err


# --- providers --------------------------------------------------------------------------


def test_providers_list_shows_builtins_with_key_status(cli, memory_keyring, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", OTHER_KEY)
    cli("keys", "set", "openai", stdin=KEY)
    result = cli("providers", "list")
    assert result.code == 0, result.err
    lines = {line.split()[0].lstrip("*") or line.split()[1]: line for line in result.out.splitlines()[1:]}
    assert set(lines) == {"anthropic", "ollama", "openai"}
    assert f"keyring {fingerprint(KEY)}" in lines["openai"] and "https://api.openai.com/v1" in lines["openai"]
    assert "env ANTHROPIC_API_KEY" in lines["anthropic"]
    assert lines["ollama"].rstrip().endswith("none") and "http://localhost:11434/v1" in lines["ollama"]
    entries = {e["name"]: e for e in json.loads(cli("providers", "list", "--json").out)}
    assert entries["openai"]["key"] == {"source": "keyring", "fingerprint": fingerprint(KEY), "env_var": None,
                                        "status": f"keyring {fingerprint(KEY)}"}
    assert entries["anthropic"]["key"]["status"] == "env ANTHROPIC_API_KEY"
    assert entries["ollama"]["key"]["status"] == "none"
    assert all(e["builtin"] and not e["added"] for e in entries.values())
    for output in (result.output, json.dumps(entries)):
        assert KEY not in output and OTHER_KEY not in output


def test_providers_add_list_remove(cli, memory_keyring, monkeypatch):
    monkeypatch.setenv("GROQ_KEY", "gsk_" + "A1" * 20)
    added = cli("providers", "add", "groq", "--kind", "openai-compatible", "--base-url",
                "https://api.groq.com/openai/v1", "--default-model", "llama-3.3-70b", "--api-key-env", "GROQ_KEY")
    assert added.code == 0, added.err
    assert "added provider groq" in added.out and "default" in added.out  # the first one added
    row = _rows()["groq"]
    assert (row.kind, row.base_url, row.default_model, row.options) == (
        "openai-compatible", "https://api.groq.com/openai/v1", "llama-3.3-70b", {"api_key_env": "GROQ_KEY"})
    entries = {e["name"]: e for e in json.loads(cli("providers", "list", "--json").out)}
    assert entries["groq"]["key"]["status"] == "env GROQ_KEY"
    assert entries["groq"]["default"] and entries["groq"]["added"] and not entries["groq"]["builtin"]

    cli("keys", "set", "groq", stdin=KEY)
    entries = {e["name"]: e for e in json.loads(cli("providers", "list", "--json").out)}
    assert entries["groq"]["key"]["status"] == f"keyring {fingerprint(KEY)}"  # the keyring wins

    second = cli("providers", "add", "local", "--kind", "anthropic", "--base-url", "http://127.0.0.1:9", "--default")
    assert second.code == 0 and "default" in second.out
    assert "keys set local" in second.err  # a hint: it needs a key
    entries = {e["name"]: e for e in json.loads(cli("providers", "list", "--json").out)}
    assert entries["local"]["default"] and not entries["groq"]["default"]

    removed = cli("providers", "remove", "groq")
    assert removed.code == 0 and "and its key" in removed.out
    assert (SERVICE, "groq") not in memory_keyring.entries
    assert "groq" not in _rows()
    assert "groq" not in json.loads(memory_keyring.entries[(SERVICE, INDEX_USERNAME)])["keys"]


def test_providers_add_picks_up_a_key_stored_before(cli, memory_keyring):
    cli("keys", "set", "work", stdin=KEY)
    result = cli("providers", "add", "work", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1")
    assert result.code == 0 and f"keyring {fingerprint(KEY)}" in result.out
    assert _rows()["work"].key_fingerprint == fingerprint(KEY)


def test_providers_remove_keep_key(cli, memory_keyring):
    cli("providers", "add", "work", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1")
    cli("keys", "set", "work", stdin=KEY)
    result = cli("providers", "remove", "work", "--keep-key")
    assert result.code == 0 and "stays in the keyring" in result.out
    assert memory_keyring.entries[(SERVICE, "work")] == KEY


def test_builtins_cannot_be_removed(cli, memory_keyring):
    cli("keys", "set", "openai", stdin=KEY)
    for name in ("openai", "anthropic", "ollama"):
        result = cli("providers", "remove", name)
        assert result.code == 2
        assert "built-in provider and cannot be removed" in result.err and "Traceback" not in result.err
    assert memory_keyring.entries[(SERVICE, "openai")] == KEY


@pytest.mark.parametrize("argv, message", [
    (("providers", "add", "openai", "--kind", "openai"), "built-in provider"),
    (("providers", "add", "x", "--kind", "bogus"), "Invalid value for '--kind'"),
    (("providers", "add", "x"), "Missing option '--kind'"),
    (("providers", "add", "x", "--kind", "openai-compatible"), "base URL"),
    (("providers", "add", "Bad Name", "--kind", "openai"), "not a valid provider name"),
    (("providers", "add", "x", "--kind", "openai", "--base-url", "ftp://host"), "http:// or https://"),
    (("providers", "add", "x", "--kind", "openai", "--base-url", "https://u:p@host/v1"), "credentials"),
    (("providers", "add", "x", "--kind", "openai", "--api-key-env", "NOT-A-VAR"), "--api-key-env takes the NAME"),
    (("providers", "add", "x", "--kind", "openai", "--api-key-env", KEY), "--api-key-env takes the NAME"),
    (("providers", "add", "x", "--kind", "openai", "--base-url", KEY), "looks like an API key"),
    (("providers", "add", "x", "--kind", "openai", "--default-model", KEY), "looks like an API key"),
    (("providers", "add", "x", "--kind", "openai", "--api-key", KEY), "No such option"),
    (("providers", "remove", "nope"), "no provider named 'nope'"),
])
def test_provider_usage_errors(cli, memory_keyring, argv, message):
    result = cli(*argv)
    assert result.code == 2, result.output
    assert message in result.err
    assert KEY not in result.output and "Traceback" not in result.output
    # One error line: ours ("tui-chat: ...") or click's ("Error: ...", after its usage hint).
    errors = [line for line in result.err.splitlines() if line.startswith(("tui-chat:", "Error:"))]
    assert len(errors) == 1 and message in errors[0]


def test_providers_add_twice(cli, memory_keyring):
    assert cli("providers", "add", "x", "--kind", "openai").code == 0
    result = cli("providers", "add", "x", "--kind", "anthropic")
    assert result.code == 2 and "already exists" in result.err


# --- no keyring -----------------------------------------------------------------------


FIXES = ("gnome-keyring", "PYTHON_KEYRING_BACKEND", "OPENAI_API_KEY")


@pytest.mark.parametrize("argv", [("keys", "set", "openai"), ("keys", "list"), ("keys", "remove", "openai")])
def test_no_keyring_is_exit_3_with_the_fixes(cli, argv):
    result = cli(*argv, stdin=KEY)  # the conftest's default backend: keyring's fail backend
    assert result.code == 3
    assert result.out == ""
    line = result.err.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "no keyring backend is available" in line
    assert all(fix in line for fix in FIXES)
    assert KEY not in line


def test_no_keyring_providers_list_still_works(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    result = cli("providers", "list", "--json")
    assert result.code == 0
    entries = {e["name"]: e for e in json.loads(result.out)}
    assert entries["openai"]["key"]["status"] == "env OPENAI_API_KEY"
    assert entries["anthropic"]["key"]["status"] == "unknown (keyring unavailable)"
    assert "cannot read keys from the keyring" in result.err and KEY not in result.output


def test_no_keyring_providers_remove_changes_nothing(cli, memory_keyring, monkeypatch):
    cli("providers", "add", "work", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1")
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # back to the fail backend
    result = cli("providers", "remove", "work")
    assert result.code == 3 and "--keep-key" in result.err and "Nothing was removed" in result.err
    assert "work" in _rows()
    assert cli("providers", "remove", "work", "--keep-key").code == 0
    assert "work" not in _rows()


def test_removing_a_row_that_overrides_a_builtin_keeps_the_builtin_and_its_key(cli, memory_keyring):
    storage = Storage.open(database_url())
    try:
        user = storage.users.ensure(None)
        storage.providers.add(user.id, "openai", "openai", base_url="https://proxy.example/v1")
    finally:
        storage.close()
    cli("keys", "set", "openai", stdin=KEY)
    entries = {e["name"]: e for e in json.loads(cli("providers", "list", "--json").out)}
    assert entries["openai"]["builtin"] and entries["openai"]["added"]
    assert entries["openai"]["base_url"] == "https://proxy.example/v1"
    result = cli("providers", "remove", "openai")
    assert result.code == 0 and "built-in openai provider remains" in result.out
    assert memory_keyring.entries[(SERVICE, "openai")] == KEY
    entries = {e["name"]: e for e in json.loads(cli("providers", "list", "--json").out)}
    assert entries["openai"]["base_url"] == "https://api.openai.com/v1" and not entries["openai"]["added"]
