"""The tools package is UI-free and cheap to import: no Textual, and no MCP SDK until an
MCP server is actually used."""

from __future__ import annotations

import subprocess
import sys

from tests.tools.conftest import REPO


def test_no_textual_and_no_mcp_until_needed() -> None:
    code = (
        "import sys\n"
        "import tui_chat.tools.runtime, tui_chat.tools.scripted, tui_chat.tools.policy, tui_chat.tools.rules\n"
        "import tui_chat.commands.tools, tui_chat.commands.policy, tui_chat.commands.mcp\n"
        "print(sorted(m for m in ('textual', 'mcp', 'httpx', 'jsonschema') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
