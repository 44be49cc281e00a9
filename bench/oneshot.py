"""One-shot benchmark: ``tui-chat -p`` end to end against a local streaming server,
side by side with simonw's ``llm`` CLI on the same server.

Every measured run is a fresh process, from spawn to exit, with stdout going to a file:
wall seconds, CPU seconds (user + system of the child, from ``wait4``) and peak RSS
(``ru_maxrss``). Jobs, interleaved round by round (the order rotates every round, so
machine drift and background load hit every job alike):

* ``tui-chat -p PROMPT --provider openai --model gpt-4o``      (OPENAI_BASE_URL)
* ``llm -m bench-gpt-4o PROMPT``                              (the same server, same stream)
* ``tui-chat -p PROMPT --provider anthropic --model claude-haiku-4-5`` (ANTHROPIC_BASE_URL)
* ``tui-chat --version`` and ``llm --version``

The server is the project's fake provider (``tests/fakes/provider_server.py``) in its
own process, streaming ``--tokens`` tokens of generated Markdown as fast as it can. Each
run's stdout must equal that answer exactly, its exit code must be 0 and the server must
have logged exactly one complete request for it; otherwise the benchmark stops with the
run's stderr. Both tools keep their state in throwaway directories (``TUI_CHAT_HOME``,
``LLM_USER_PATH``), created in the warm-up so the measured runs see a current database;
both record every exchange there (tui-chat its conversation, llm its logs.db).

``llm`` runs from its own virtualenv, ``bench/.venv-llm`` (created with ``pip install llm``
when missing; ``--llm PATH`` uses another executable), configured as an
OpenAI-compatible model through ``extra-openai-models.yaml`` and ``llm keys set``.

Children are started by a tiny launcher process (``python -I -S``, stdlib only), not by
this script: Linux carries the spawning process's peak RSS into the child's
``ru_maxrss``, so the launcher's small footprint is the floor of every RSS figure (it is
measured with ``/bin/true`` and printed).

Run from the repository root::

    .venv/bin/python bench/oneshot.py                 # 10 runs, 4,000 tokens
    .venv/bin/python bench/oneshot.py --runs 5 --tokens 1000

It prints a table (median, min and max of each figure; ratios are medians of the
per-round tui-chat/llm ratios) and, last, one JSON object with every figure.
Targets (issue 3): tui-chat wall and CPU at most 0.6x llm's for the openai one-shot;
``tui-chat --version`` under 0.3 s. ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import marshal
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LLM_VENV = REPO / "bench" / ".venv-llm"
PROMPT = "Write a long Markdown document about streaming terminal user interfaces."
LLM_MODEL_ID = "bench-gpt-4o"
TARGET_RATIO = 0.6
TARGET_VERSION_WALL = 0.3
RUN_TIMEOUT = 180.0

# Runs in its own small interpreter; spawns one child per request and reports wait4().
LAUNCHER = r"""
import marshal, os, time
def read(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            raise SystemExit(0)
        data += chunk
    return data
def send(obj):
    data = marshal.dumps(obj)
    os.write(1, len(data).to_bytes(4, "little") + data)
while True:
    argv, env, cwd, stdin, stdout, stderr = marshal.loads(read(int.from_bytes(read(4), "little")))
    actions = [(os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    os.chdir(cwd)
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    send(pid)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    send((wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""


class BenchError(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(f"oneshot: {message}")


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Job:
    key: str
    label: str
    argv: list[str]
    env: dict[str, str]
    chat: bool  # makes one request to the server and must print the whole answer
    samples: list[Sample] = field(default_factory=list)


class Launcher:
    """A small child process that spawns and waits for the measured processes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

    def _read(self, timeout: float) -> object:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        need = 4
        header = True
        while len(data) < need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, need - len(data))
            if not chunk:
                raise BenchError("the launcher process died")
            data += chunk
            if header and len(data) == 4:
                need, data, header = int.from_bytes(data, "little"), b"", False
        return marshal.loads(data)

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path,
            timeout: float = RUN_TIMEOUT) -> tuple[float, float, float, int]:
        """(wall s, cpu s, peak RSS MB, exit code) of one process."""
        payload = marshal.dumps((argv, env, str(cwd), os.devnull, str(stdout), str(stderr)))
        self.proc.stdin.write(len(payload).to_bytes(4, "little") + payload)
        pid = self._read(10.0)
        try:
            wall, utime, stime, maxrss_kb, code = self._read(timeout)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._read(10.0)
            raise BenchError(f"{' '.join(argv)} took more than {timeout:.0f} s; killed") from None
        return wall, utime + stime, maxrss_kb / 1024, code

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class FakeServer:
    """The project's fake provider server, as a separate process."""

    def __init__(self, workdir: Path, tokens: int) -> None:
        script = workdir / "script.json"
        script.write_text(json.dumps({"default": {"markdown_tokens": tokens}}), encoding="utf-8")
        self.log = workdir / "requests.jsonl"
        self.log.touch()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.provider_server", "--port", "0", "--script", str(script),
             "--log", str(self.log)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise BenchError(f"the fake provider server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split(" ", 1)[1]
        self._seen = 0

    def take_requests(self, expected: int, timeout: float = 5.0) -> list[dict]:
        """The requests logged since the last call, waiting until ``expected`` have finished."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log.read_text(encoding="utf-8").splitlines()
            if len(lines) - self._seen >= expected or time.monotonic() > deadline:
                new, self._seen = lines[self._seen:], len(lines)
                return [json.loads(line) for line in new]
            time.sleep(0.01)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def expected_answer(tokens: int) -> str:
    sys.path.insert(0, str(REPO))
    try:
        from tests.fakes.provider_wire import generate_markdown
    finally:
        sys.path.remove(str(REPO))
    return "".join(generate_markdown(tokens))


def find_tui_chat(given: str | None) -> Path:
    candidates = [given] if given else [str(Path(sys.executable).parent / "tui-chat"), str(REPO / ".venv/bin/tui-chat"),
                                        shutil.which("tui-chat") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).absolute()
    raise BenchError(f"no tui-chat executable (tried {candidates}); install the project or pass --tui-chat")


def find_llm(given: str | None, venv: Path, install: bool) -> Path:
    if given:
        path = Path(given)
        if not path.is_file():
            raise BenchError(f"--llm {given}: no such file")
        return path.absolute()
    path = venv / "bin" / "llm"
    if path.is_file():
        return path
    if not install:
        raise BenchError(f"{path} is missing (run without --no-install, or pass --llm)")
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
    print(f"installing llm into {venv} ...", file=sys.stderr, flush=True)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "llm"], check=True)
    if not path.is_file():
        raise BenchError(f"pip install llm did not create {path}")
    return path


def clean_env() -> dict[str, str]:
    drop = ("OPENAI_", "ANTHROPIC_", "LLM_", "TUI_CHAT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("PYTHONPATH", None)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def tool_version(launcher: Launcher, path: Path, env: dict[str, str], work: Path) -> str:
    out, err = work / "version.out", work / "version.err"
    _, _, _, code = launcher.run([str(path), "--version"], env, work, out, err)
    text = out.read_text(errors="replace").strip()
    if code != 0 or not text:
        raise BenchError(f"{path} --version failed ({code}): {err.read_text(errors='replace')}")
    return text


def setup_llm(launcher: Launcher, llm: Path, env: dict[str, str], server_url: str, work: Path) -> None:
    """An isolated LLM_USER_PATH with the fake server as an OpenAI-compatible model."""
    home = Path(env["LLM_USER_PATH"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "extra-openai-models.yaml").write_text(
        f"- model_id: {LLM_MODEL_ID}\n"
        f"  model_name: gpt-4o\n"
        f"  api_base: \"{server_url}/v1\"\n"
        f"  api_key_name: bench\n",
        encoding="utf-8",
    )
    out, err = work / "keys.out", work / "keys.err"
    _, _, _, code = launcher.run([str(llm), "keys", "set", "bench", "--value", "sk-bench"], env, work, out, err)
    if code != 0:
        raise BenchError(f"llm keys set failed ({code}): {err.read_text(errors='replace')}")


def run_once(launcher: Launcher, job: Job, server: FakeServer, work: Path, answer: str, tag: str) -> Sample:
    out, err = work / f"{job.key}.{tag}.out", work / f"{job.key}.{tag}.err"
    wall, cpu, rss, code = launcher.run(job.argv, job.env, work, out, err)
    stderr = err.read_text(errors="replace").strip()
    if code != 0:
        raise BenchError(f"{job.label} ({tag}) exited with {code}:\n{stderr}")
    if job.chat:
        text = out.read_text(encoding="utf-8", errors="replace")
        if text.rstrip("\n") != answer.rstrip("\n"):
            raise BenchError(f"{job.label} ({tag}) printed {len(text.encode())} bytes, not the "
                             f"{len(answer.encode())}-byte answer (see {out}); stderr:\n{stderr}")
        requests = server.take_requests(1)
        chats = [r for r in requests if r["method"] == "POST"]
        if len(requests) != 1 or len(chats) != 1 or not chats[0]["completed"]:
            summary = [(r["method"], r["path"], r["completed"]) for r in requests]
            raise BenchError(f"{job.label} ({tag}): expected one complete request, the server logged {summary}")
    elif not out.read_text(errors="replace").strip():
        raise BenchError(f"{job.label} ({tag}) printed nothing; stderr:\n{stderr}")
    if stderr:
        print(f"note: {job.label} ({tag}) wrote to stderr: {stderr[:300]}", file=sys.stderr)
    out.unlink()
    err.unlink()
    return Sample(wall, cpu, rss)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(values: list[float], unit: str, digits: int = 2) -> str:
    s = spread(values)
    return f"{s['median']:.{digits}f}{unit} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each job (default 10)")
    parser.add_argument("--tokens", type=int, default=4000, help="tokens in the streamed answer (default 4000)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (default 2)")
    parser.add_argument("--tui-chat", help="the tui-chat executable (default: beside this Python, or on PATH)")
    parser.add_argument("--llm", help="the llm executable (default: bench/.venv-llm/bin/llm, installed if missing)")
    parser.add_argument("--llm-venv", type=Path, default=DEFAULT_LLM_VENV, help="where to install llm")
    parser.add_argument("--no-install", action="store_true", help="fail instead of installing llm")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (printed)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.tokens < 1 or args.warmup < 1:
        parser.error("--runs, --tokens and --warmup must be at least 1")

    tui = find_tui_chat(args.tui_chat)
    llm = find_llm(args.llm, args.llm_venv, not args.no_install)
    answer = expected_answer(args.tokens)
    work = Path(tempfile.mkdtemp(prefix="tui-chat-oneshot-"))
    launcher = Launcher()
    server = None
    failed = True
    try:
        server = FakeServer(work, args.tokens)
        base = clean_env()
        tui_env = {**base, "TUI_CHAT_HOME": str(work / "tui-chat-home"), "OPENAI_API_KEY": "sk-bench",
                   "OPENAI_BASE_URL": f"{server.url}/v1", "ANTHROPIC_API_KEY": "sk-ant-bench",
                   "ANTHROPIC_BASE_URL": server.url}
        llm_env = {**base, "LLM_USER_PATH": str(work / "llm-home")}
        setup_llm(launcher, llm, llm_env, server.url, work)
        versions = {"tui_chat": tool_version(launcher, tui, tui_env, work),
                    "llm": tool_version(launcher, llm, llm_env, work)}
        floor = launcher.run(["/bin/true"], base, work, work / "true.out", work / "true.err")[2]

        jobs = [
            Job("tui_chat_openai", "tui-chat -p (openai)",
                [str(tui), "-p", PROMPT, "--provider", "openai", "--model", "gpt-4o"], tui_env, True),
            Job("llm", "llm (openai-compatible)", [str(llm), "-m", LLM_MODEL_ID, PROMPT], llm_env, True),
            Job("tui_chat_anthropic", "tui-chat -p (anthropic)",
                [str(tui), "-p", PROMPT, "--provider", "anthropic", "--model", "claude-haiku-4-5"], tui_env, True),
            Job("tui_chat_version", "tui-chat --version", [str(tui), "--version"], tui_env, False),
            Job("llm_version", "llm --version", [str(llm), "--version"], llm_env, False),
        ]
        load_start = os.getloadavg()
        print(f"tui-chat: {tui} ({versions['tui_chat']}); llm: {llm} ({versions['llm']})")
        print(f"server {server.url}, {args.tokens} tokens ({len(answer.encode())} bytes); "
              f"{os.cpu_count()} CPUs, load {load_start[0]:.2f}; {args.warmup} warm-up + {args.runs} measured "
              f"rounds, interleaved", flush=True)
        total = args.warmup + args.runs
        for round_no in range(total):
            measured = round_no >= args.warmup
            shift = round_no % len(jobs)
            order = jobs[shift:] + jobs[:shift]
            line = []
            for job in order:
                tag = f"r{round_no}"
                sample = run_once(launcher, job, server, work, answer, tag)
                if measured:
                    job.samples.append(sample)
                line.append(f"{job.key}={sample.wall:.2f}s")
            kind = "run" if measured else "warm-up"
            print(f"  {kind} {round_no - args.warmup + 1 if measured else round_no + 1}/"
                  f"{args.runs if measured else args.warmup}: {' '.join(line)}", flush=True)
        load_end = os.getloadavg()
        failed = False
    finally:
        if server is not None:
            server.close()
        launcher.close()
        if args.keep or failed:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    by = {job.key: job for job in jobs}
    wall_ratios = [a.wall / b.wall for a, b in zip(by["tui_chat_openai"].samples, by["llm"].samples)]
    cpu_ratios = [a.cpu / b.cpu for a, b in zip(by["tui_chat_openai"].samples, by["llm"].samples)]
    anth_wall_ratios = [a.wall / b.wall for a, b in zip(by["tui_chat_anthropic"].samples, by["llm"].samples)]
    anth_cpu_ratios = [a.cpu / b.cpu for a, b in zip(by["tui_chat_anthropic"].samples, by["llm"].samples)]

    print()
    print(f"{'job':<26} {'wall s median [min-max]':>26} {'cpu s median [min-max]':>26} {'peak RSS MB [min-max]':>24}")
    for job in jobs:
        print(f"{job.label:<26} {fmt([s.wall for s in job.samples], ''):>26} {fmt([s.cpu for s in job.samples], ''):>26} "
              f"{fmt([s.rss_mb for s in job.samples], '', 1):>24}")
    print(f"(RSS floor of the launcher, /bin/true: {floor:.1f} MB)")
    print()
    print(f"tui-chat/llm, openai, per-round ratio medians [min-max]: wall {fmt(wall_ratios, 'x')}, "
          f"cpu {fmt(cpu_ratios, 'x')}")
    print(f"tui-chat/llm, anthropic provider vs llm:                 wall {fmt(anth_wall_ratios, 'x')}, "
          f"cpu {fmt(anth_cpu_ratios, 'x')}")

    def med(key: str, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in by[key].samples)

    result: dict[str, object] = {}
    for key in ("tui_chat_openai", "tui_chat_anthropic", "llm"):
        result[f"{key}_wall"] = round(med(key, "wall"), 3)
        result[f"{key}_cpu"] = round(med(key, "cpu"), 3)
        result[f"{key}_rss_mb"] = round(med(key, "rss_mb"), 1)
    for key in ("tui_chat_version", "llm_version"):
        result[f"{key}_wall"] = round(med(key, "wall"), 3)
        result[f"{key}_cpu"] = round(med(key, "cpu"), 3)
        result[f"{key}_rss_mb"] = round(med(key, "rss_mb"), 1)
    result["openai_wall_ratio"] = round(statistics.median(wall_ratios), 3)
    result["openai_cpu_ratio"] = round(statistics.median(cpu_ratios), 3)
    result["anthropic_wall_ratio"] = round(statistics.median(anth_wall_ratios), 3)
    result["anthropic_cpu_ratio"] = round(statistics.median(anth_cpu_ratios), 3)
    targets = {
        "openai_wall_ratio<=0.6": result["openai_wall_ratio"] <= TARGET_RATIO,
        "openai_cpu_ratio<=0.6": result["openai_cpu_ratio"] <= TARGET_RATIO,
        "tui_chat_version_wall<0.3": result["tui_chat_version_wall"] < TARGET_VERSION_WALL,
    }
    result["targets_met"] = all(targets.values())
    result["min_max"] = {
        f"{job.key}_{attr}": [round(min(getattr(s, attr) for s in job.samples), 3),
                              round(max(getattr(s, attr) for s in job.samples), 3)]
        for job in jobs for attr in ("wall", "cpu")
    }
    result["runs"] = args.runs
    result["tokens"] = args.tokens
    result["answer_bytes"] = len(answer.encode())
    result["rss_floor_mb"] = round(floor, 1)
    result["cpus"] = os.cpu_count()
    result["loadavg_start_end"] = [round(load_start[0], 2), round(load_end[0], 2)]
    result["versions"] = versions
    print()
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    print(json.dumps(result))
    return 1 if args.check and not result["targets_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
