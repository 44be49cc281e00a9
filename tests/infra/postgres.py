"""A throwaway PostgreSQL server for the test run.

``pg_server`` (session scope) starts a private PostgreSQL cluster in a temporary
directory -- ``initdb -A trust``, listening on a free port of 127.0.0.1 and on a unix
socket inside that directory, fsync and synchronous_commit off -- and removes it at the
end of the session. ``initdb`` refuses to run as root, so as root the cluster belongs to
the ``postgres`` user (created if missing) and its commands run through ``runuser``.

``pg_url`` (function scope) is a fresh, uniquely named database for one test, dropped
afterwards::

    def test_upgrade(pg_url):
        engine = sqlalchemy.create_engine(pg_url)   # postgresql+psycopg://postgres@127.0.0.1:PORT/t_...

``TUI_CHAT_TEST_PG_URL`` (any SQLAlchemy/libpq URL of a server where the user may
create databases) uses that server instead of starting one. ``TUI_CHAT_PG_BINDIR``
points at the directory holding ``initdb``/``pg_ctl``/``postgres`` when they are not
found on PATH or under /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra import mark_items_using, skip_or_fail

URL_ENV = "TUI_CHAT_TEST_PG_URL"
BINDIR_ENV = "TUI_CHAT_PG_BINDIR"
PG_USER = "postgres"
_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """The server could not be started; the message says why."""


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres (version 15 preferred)."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(Path(os.environ[BINDIR_ENV]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
        candidates.append(Path(on_path).parent)

    def version(path: Path) -> tuple[int, int]:
        try:
            return (int(path.parent.name == "15"), int(path.parent.name))
        except ValueError:
            return (0, 0)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in _BINARIES):
            return directory
    return None


def _which_admin(name: str) -> str | None:
    """``shutil.which`` that also looks in the sbin directories (not always on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        if os.access(f"{directory}/{name}", os.X_OK):
            return f"{directory}/{name}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        pass
    useradd = _which_admin("useradd")
    if not useradd:
        raise PostgresUnavailable("running as root, no 'postgres' user and no useradd to create it")
    subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", PG_USER],
        check=True, capture_output=True, timeout=60,
    )
    return pwd.getpwnam(PG_USER)


class LocalPostgres:
    """A private cluster in a temporary directory; ``start()`` then ``stop()``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.root: Path | None = None
        self.port: int | None = None
        self._started = False

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def _cmd(self, *args: str) -> list[str]:
        if not self.as_root:
            return list(args)
        runuser = _which_admin("runuser")
        if runuser:
            return [runuser, "-u", PG_USER, "--", *args]
        su = _which_admin("su")
        if not su:
            raise PostgresUnavailable("running as root with neither runuser nor su to drop to 'postgres'")
        return [su, "-s", "/bin/sh", PG_USER, "-c", shlex.join(args)]

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        return subprocess.run(
            self._cmd(*args), capture_output=True, text=True, timeout=timeout, env=env,
            stdin=subprocess.DEVNULL, cwd=str(self.root or "/"),
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def start(self) -> None:
        # Under /tmp rather than pytest's basetemp: as root that one is private to root,
        # and the 'postgres' user must be able to reach the data directory.
        self.root = Path(tempfile.mkdtemp(prefix="tui-chat-pg-", dir="/tmp" if self.as_root else None))
        atexit.register(self.stop)
        if self.as_root:
            user = _ensure_postgres_user()
            os.chown(self.root, user.pw_uid, user.pw_gid)
        (self.root / "sock").mkdir()
        if self.as_root:
            os.chown(self.root / "sock", user.pw_uid, user.pw_gid)
        init = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", PG_USER,
            "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions",
        )
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed ({init.returncode}): {init.stderr.strip()[-2000:]}")
        last_error = ""
        for _attempt in range(3):
            self.port = _free_port()
            self._write_config()
            ctl = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", "60", "-s", "start",
            )
            if ctl.returncode == 0:
                self._started = True
                return
            last_error = f"{ctl.stderr.strip()}\n{self._log_tail()}"
            if "already in use" not in last_error and "could not bind" not in last_error:
                break
        raise PostgresUnavailable(f"pg_ctl start failed: {last_error[-3000:]}")

    def _write_config(self) -> None:
        assert self.root is not None and self.port is not None
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root / 'sock'}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "timezone": "'UTC'",
        }
        conf = self.data_dir / "postgresql.auto.conf"
        # postgresql.auto.conf wins over postgresql.conf and is rewritten on each try.
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        conf.write_text(text)
        if self.as_root:
            user = pwd.getpwnam(PG_USER)
            os.chown(conf, user.pw_uid, user.pw_gid)

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove its files."""
        root = self.root
        if root is None:
            return
        try:
            if self._started:
                self._started = False
                result = self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate",
                    "-w", "-t", "30", "-s", "stop", timeout=60,
                )
                if result.returncode != 0:
                    self._kill_postmaster(root)
        except Exception:  # noqa: BLE001 - teardown must always remove the directory
            self._kill_postmaster(root)
        finally:
            self.root = None
            shutil.rmtree(root, ignore_errors=True)

    @staticmethod
    def _kill_postmaster(root: Path) -> None:
        import signal

        try:
            pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


class PgServer:
    """What tests see: URLs and database management on the test server."""

    def __init__(self, base_url: str, local: LocalPostgres | None = None) -> None:
        from sqlalchemy.engine import make_url

        url = make_url(base_url)
        self._base = url.set(drivername="postgresql+psycopg")
        self.admin_database = url.database or "postgres"
        self.local = local

    @property
    def host(self) -> str | None:
        return self._base.host

    @property
    def port(self) -> int | None:
        return self._base.port

    def url(self, dbname: str | None = None) -> str:
        """SQLAlchemy URL of ``dbname`` (default: the admin database)."""
        return self._base.set(database=dbname or self.admin_database).render_as_string(hide_password=False)

    def libpq_url(self, dbname: str | None = None) -> str:
        """The same URL for psycopg / psql (``postgresql://...``)."""
        return (
            self._base.set(drivername="postgresql", database=dbname or self.admin_database)
            .render_as_string(hide_password=False)
        )

    def connect(self, dbname: str | None = None):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(self.libpq_url(dbname), autocommit=True, connect_timeout=10)

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create database ``name`` (a copy of ``template``) and return its SQLAlchemy URL."""
        from psycopg import sql

        _check_db_name(name)
        _check_db_name(template)
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing any connections left open."""
        from psycopg import sql

        _check_db_name(name)
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def __repr__(self) -> str:
        return f"PgServer({self._base.render_as_string(hide_password=True)})"


def _check_db_name(name: str) -> None:
    if not _DB_NAME_RE.match(name):
        raise ValueError(f"unsafe database name for tests: {name!r}")


def start_pg_server() -> tuple[PgServer, LocalPostgres | None]:
    """Connect to ``TUI_CHAT_TEST_PG_URL`` or start a local server.

    Raises :class:`PostgresUnavailable` when that is impossible.
    """
    external = os.environ.get(URL_ENV, "").strip()
    if external:
        server = PgServer(external)
        try:
            server.connect().close()
        except Exception as exc:  # noqa: BLE001
            raise PostgresUnavailable(f"{URL_ENV} is set but its server cannot be reached: {exc}") from None
        return server, None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("psycopg is not installed (pip install -e '.[test]')") from None
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
            f"/usr/lib/postgresql/*/bin; install postgresql-15, set {BINDIR_ENV}, or set "
            f"{URL_ENV} to a server to use"
        )
    local = LocalPostgres(bindir)
    try:
        local.start()
    except BaseException:
        local.stop()
        raise
    return PgServer(f"postgresql+psycopg://{PG_USER}@127.0.0.1:{local.port}/postgres", local), local


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole test run (see the module docstring)."""
    try:
        server, local = start_pg_server()
    except PostgresUnavailable as exc:
        skip_or_fail(f"no PostgreSQL for tests: {exc}")
        raise AssertionError("unreachable")  # skip_or_fail always raises
    try:
        yield server
    finally:
        if local is not None:
            local.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh empty database for one test; its SQLAlchemy URL. Dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_items_using(items, {"pg_server", "pg_url"}, "postgres")
