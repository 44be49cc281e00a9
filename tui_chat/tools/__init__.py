"""Tools the model can call, and the policy that gates every call. UI-free.

- :mod:`.runtime` -- ``build_runtime()``: the registry and ``ToolRuntime`` the engine uses;
- :mod:`.policy` -- the one policy for every call, built-in or MCP;
- :mod:`.patterns`, :mod:`.shellparse` -- rule patterns and command-line splitting;
- :mod:`.files`, :mod:`.shell`, :mod:`.net` -- the built-in tools;
- :mod:`.mcp`, :mod:`.mcpconfig` -- MCP servers (``mcp`` is imported only when one is used);
- :mod:`.rules` -- rules from the command line and from past decisions;
- :mod:`.scripted` -- the fail-closed set-up for ``tui-chat -p``.

Nothing is imported here, so importing the package costs nothing.
"""
