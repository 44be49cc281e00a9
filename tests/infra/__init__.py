"""Test infrastructure: real services started for the test run, and test doubles.

Fixtures (registered by ``tests/conftest.py``):

* ``pg_server`` (session) / ``pg_url`` (function) -- a throwaway PostgreSQL server,
  see :mod:`tests.infra.postgres`.
* ``secret_service`` (session) / ``secret_service_keyring`` (function) -- a private
  D-Bus session bus with gnome-keyring's Secret Service, see
  :mod:`tests.infra.keyring_daemon`.
* ``memory_keyring`` / ``key_store`` (function) -- an in-memory keyring backend, see
  :mod:`tests.infra.memory_keyring`.

When a service cannot be started here, its fixtures skip the test with the reason --
except under CI (``CI`` set to a true value), where nothing may silently skip and they
fail instead.
"""

from __future__ import annotations

import os

import pytest


def ci_strict() -> bool:
    """True under CI: missing test infrastructure is an error, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def skip_or_fail(reason: str) -> None:
    """Skip the test (locally) or fail it (under CI) because infrastructure is missing."""
    if ci_strict():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def mark_items_using(items: list[pytest.Item], fixtures: set[str], marker: str) -> None:
    """Add ``marker`` to every collected test that uses one of ``fixtures``."""
    for item in items:
        if fixtures.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(marker)
