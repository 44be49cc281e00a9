"""``tui-chat`` with no subcommand: the terminal interface.

The first paint does not wait for the database: the app opens it (and records this
run as a session row) in a background thread, then marks streams left unfinished by a
dead process as interrupted. The session ends when the app exits.
"""

from __future__ import annotations

import locale
import os
import platform
import socket
import sys
import time
from typing import Any

from ..errors import AppError, ExitCode

#: Environment variables that identify the terminal window, tab or pane, in order.
WINDOW_VARIABLES = ("TMUX_PANE", "WINDOWID", "TERM_SESSION_ID", "WT_SESSION")


def session_info(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Where this run happens: window id, terminal program, OS, host, timezone, locale."""
    env = os.environ if environ is None else environ
    window_id = next((env[name] for name in WINDOW_VARIABLES if env.get(name)), None)
    terminal = env.get("TERM_PROGRAM") or env.get("TERM") or None
    try:
        hostname = socket.gethostname()
    except OSError:
        hostname = None
    return {
        "window_id": window_id[:200] if window_id else None,
        "user_agent": terminal[:500] if terminal else None,
        "device_info": {
            "os": f"{platform.system()} {platform.release()}".strip()[:200] or None,
            "terminal": (env.get("TERM") or None),
            "hostname": hostname[:200] if hostname else None,
            "ssh": bool(env.get("SSH_CONNECTION")),
            "pid": os.getpid(),
        },
        "location": {"timezone": _timezone(env), "locale": _locale(env)},
    }


def _timezone(env: Any) -> str | None:
    if env.get("TZ"):
        return str(env["TZ"])[:200]
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1][:200]
    except OSError:
        pass
    name = time.tzname[time.localtime().tm_isdst > 0] if time.tzname else None
    return name[:200] if name else None


def _locale(env: Any) -> str | None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return str(env[name])[:200]
    try:
        value = locale.getlocale()[0]
    except ValueError:
        value = None
    return value[:200] if value else None


def run_tui(options: dict[str, Any]) -> int:
    """Run the app until the user quits; returns the exit code."""
    from ..factory import make_app

    def opener() -> Any:
        from ..context import AppContext

        return AppContext.open(options.get("db"))

    app = make_app(opener=opener, options=options, session_info=session_info(), warm_up=True)
    try:
        app.run()
    finally:
        services = app.services
        if services.ready:
            try:
                services.end_session()
            except Exception:  # noqa: BLE001 - the app is closing; the row expires anyway
                pass
            services.context.close()  # type: ignore[union-attr]
    failure = app.startup_error
    if failure is not None:
        if isinstance(failure, AppError):
            raise failure
        raise AppError(f"could not start: {failure}", ExitCode.ERROR) from failure
    if app.return_code not in (None, 0):
        return int(app.return_code or 0)
    if sys.stdout.isatty():
        sys.stdout.flush()
    return ExitCode.OK
