"""Split a shell command line into everything it would run, so each part is judged.

``parse("git status && rm -rf ~ | grep x")`` gives the parts ``git status``,
``rm -rf ~`` and ``grep x``: a rule must allow every one of them. Pipes, ``&&``, ``||``,
``;``, ``&``, newlines, subshells ``( )``, groups ``{ }``, command substitution ``$( )``
and backticks, process substitution ``<( )``, ``sh -c '...'``, ``find -exec`` and
wrappers such as ``sudo``, ``env``, ``timeout`` and ``xargs`` are all taken apart. An
output redirection to a file is a part of its own (``> out.txt``), because writing a
file is not what the command rule allowed.

Quotes are removed from the words (``"r""m" -rf`` is ``rm -rf``). Whatever the parser
cannot judge with confidence -- unbalanced quotes, heredocs, ``eval``, control
structures, a command name computed at run time -- is reported in ``problems``; the
policy then lets no allow rule match, and does not offer to remember the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
                      "function", "select", "coproc", "[[", "]]"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "busybox"})
#: Commands that run the rest of their words as another command, with the options they take a value for.
WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nohup": frozenset(), "time": frozenset({"-f", "-o"}), "command": frozenset(), "builtin": frozenset(),
    "exec": frozenset({"-a"}), "nice": frozenset({"-n"}), "ionice": frozenset({"-c", "-n", "-p"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}), "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "xargs": frozenset({"-n", "-I", "-i", "-L", "-l", "-P", "-s", "-d", "-E", "-a", "--max-args", "--replace",
                        "--max-procs", "--delimiter", "--arg-file"}),
    "watch": frozenset({"-n", "-d"}), "strace": frozenset({"-o", "-e", "-p"}), "chroot": frozenset(),
}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class ParsedShell:
    parts: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def confident(self) -> bool:
        return not self.problems and bool(self.parts)


class _Unbalanced(Exception):
    pass


def parse(command: str) -> ParsedShell:
    parts: list[str] = []
    problems: list[str] = []
    _Parser(command, parts, problems, 0).run()
    if not parts and not problems:
        problems.append("there is no command to run")
    unique = tuple(dict.fromkeys(p for p in parts if p))
    return ParsedShell(unique, tuple(dict.fromkeys(problems)))


def _closing_paren(s: str, i: int) -> int:
    """Index of the ``)`` closing the ``(`` just before ``s[i]``."""
    depth = 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = s.find("'", i + 1)
            if end < 0:
                raise _Unbalanced("an unbalanced single quote")
            i = end + 1
            continue
        if c == '"':
            i = _closing_double(s, i + 1) + 1
            continue
        if c == "`":
            i = _closing_backtick(s, i + 1) + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Unbalanced("an unbalanced parenthesis")


def _closing_double(s: str, i: int) -> int:
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        if c == "$" and s[i + 1:i + 2] == "(":
            i = _closing_paren(s, i + 2) + 1
            continue
        if c == "`":
            i = _closing_backtick(s, i + 1) + 1
            continue
        i += 1
    raise _Unbalanced("an unbalanced double quote")


def _closing_backtick(s: str, i: int) -> int:
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "`":
            return i
        i += 1
    raise _Unbalanced("an unbalanced backtick")


class _Parser:
    def __init__(self, text: str, parts: list[str], problems: list[str], depth: int) -> None:
        self.s = text
        self.parts = parts
        self.problems = problems
        self.depth = depth
        self.words: list[str] = []
        self.dynamic: list[bool] = []
        self.extra: list[str] = []  # input redirections, kept with the command
        self.buf: list[str] = []
        self.in_word = False
        self.quoted = False
        self.word_dynamic = False
        self.pending: str | None = None  # a redirection waiting for its target: in | out | dup

    # --- driving ---------------------------------------------------------------

    def run(self) -> None:
        if self.depth > _MAX_DEPTH:
            self.problems.append("the command nests too deeply")
            return
        try:
            self._scan()
        except _Unbalanced as exc:
            self.problems.append(f"the command has {exc}")
        self._end_command()

    def nested(self, text: str) -> None:
        _Parser(text, self.parts, self.problems, self.depth + 1).run()

    def _scan(self) -> None:
        s, i = self.s, 0
        while i < len(s):
            c = s[i]
            nxt = s[i + 1:i + 2]
            if c == "\\":
                if nxt != "\n":
                    self._add(nxt, quoted=True)
                i += 2
            elif c == "'":
                end = s.find("'", i + 1)
                if end < 0:
                    raise _Unbalanced("an unbalanced single quote")
                self._add(s[i + 1:end], quoted=True)
                i = end + 1
            elif c == '"':
                i = self._double(i + 1)
            elif c == "`":
                end = _closing_backtick(s, i + 1)
                inner = re.sub(r"\\([`\\$])", r"\1", s[i + 1:end])
                self.nested(inner)
                self._add(s[i:end + 1], dynamic=True)
                i = end + 1
            elif c == "$":
                i = self._dollar(i)
            elif c in " \t":
                self._end_word()
                i += 1
            elif c == "\n":
                self._end_command()
                i += 1
            elif c == "#" and not self.in_word:
                end = s.find("\n", i)
                i = len(s) if end < 0 else end
            elif c in ";|" or (c == "&" and nxt != ">"):
                if c == ";" and nxt == ";":
                    self.problems.append("the command uses a case statement")
                self._end_command()
                i += 2 if s[i:i + 2] in ("&&", "||", "|&", ";;") else 1
            elif c in "<>" or c == "&":
                i = self._redirect(i)
            elif c == "(":
                if self.in_word or self.words:
                    self.problems.append("the command has a parenthesis where a word was expected")
                    raise _Unbalanced("a misplaced parenthesis")
                end = _closing_paren(s, i + 1)
                if s[i + 1:i + 2] == "(":
                    self.problems.append("the command uses arithmetic evaluation (( ))")
                self._end_command()
                self.nested(s[i + 1:end])
                i = end + 1
            elif c == ")":
                raise _Unbalanced("an unbalanced parenthesis")
            else:
                self._add(c)
                i += 1

    def _double(self, i: int) -> int:
        s = self.s
        end = _closing_double(s, i)
        j = i
        self._add("", quoted=True)
        while j < end:
            c = s[j]
            if c == "\\" and s[j + 1:j + 2] in ('"', "\\", "$", "`", "\n"):
                if s[j + 1] != "\n":
                    self._add(s[j + 1], quoted=True)
                j += 2
            elif c == "`":
                close = _closing_backtick(s, j + 1)
                self.nested(re.sub(r"\\([`\\$])", r"\1", s[j + 1:close]))
                self._add(s[j:close + 1], dynamic=True)
                j = close + 1
            elif c == "$":
                j = self._dollar(j, limit=end)
            else:
                self._add(c, quoted=True)
                j += 1
        return end + 1

    def _dollar(self, i: int, limit: int | None = None) -> int:
        s = self.s
        two = s[i + 1:i + 3]
        if two == "((":
            self.problems.append("the command uses arithmetic expansion $(( ))")
            end = _closing_paren(s, i + 2)
            self._add(s[i:end + 1], dynamic=True)
            return end + 1
        if two[:1] == "(":
            end = _closing_paren(s, i + 2)
            self.nested(s[i + 2:end])
            self._add(s[i:end + 1], dynamic=True)
            return end + 1
        if two[:1] == "{":
            end = s.find("}", i + 2)
            if end < 0 or (limit is not None and end > limit):
                raise _Unbalanced("an unbalanced ${")
            body = s[i + 2:end]
            if "$(" in body or "`" in body or "{" in body:
                self.problems.append("the command nests expansions inside ${ }")
            self._add(s[i:end + 1], dynamic=True)
            return end + 1
        if two[:1] == "'" and limit is None:  # $'...' (ANSI-C quoting)
            j = i + 2
            while j < len(s) and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise _Unbalanced("an unbalanced $' quote")
            self._add(s[i + 2:j], quoted=True)
            return j + 1
        self._add("$", dynamic=True)
        return i + 1

    def _redirect(self, i: int) -> int:
        s = self.s
        fd_number = self.in_word and not self.quoted and "".join(self.buf).isdigit()
        if fd_number:
            self.buf, self.in_word = [], False
        else:
            self._end_word()
        if s[i] in "<>" and s[i + 1:i + 2] == "(":  # process substitution
            end = _closing_paren(s, i + 2)
            self.nested(s[i + 2:end])
            self._add(s[i:end + 1], dynamic=True)
            return end + 1
        for op, kind in (("<<<", "here"), ("<<", "heredoc"), ("&>>", "out"), ("&>", "out"), (">>", "out"),
                         (">|", "out"), (">&", "dup"), ("<&", "dup"), ("<>", "out"), (">", "out"), ("<", "in")):
            if s.startswith(op, i):
                break
        else:  # a lone "&" not followed by ">" is handled as a separator before we get here
            raise _Unbalanced("an unexpected &")
        if kind == "heredoc":
            self.problems.append("the command uses a heredoc (<<)")
            kind = "in"
        self.pending = kind
        return i + len(op)

    # --- words and commands ----------------------------------------------------

    def _add(self, text: str, *, quoted: bool = False, dynamic: bool = False) -> None:
        self.buf.append(text)
        self.in_word = True
        self.quoted = self.quoted or quoted
        self.word_dynamic = self.word_dynamic or dynamic

    def _end_word(self) -> None:
        if not self.in_word:
            return
        word, dynamic = "".join(self.buf), self.word_dynamic
        self.buf, self.in_word, self.quoted, self.word_dynamic = [], False, False, False
        pending, self.pending = self.pending, None
        if pending is None:
            self.words.append(word)
            self.dynamic.append(dynamic)
        elif pending == "dup" and (word.isdigit() or word == "-"):
            return
        elif pending in ("out", "dup"):
            if word != "/dev/null":
                self.parts.append(f"> {word}")
        elif pending == "here":
            self.extra.append(f"<<< {word}")
        else:
            self.extra.append(f"< {word}")

    def _end_command(self) -> None:
        self._end_word()
        if self.pending:
            self.problems.append("a redirection has no target")
            self.pending = None
        words, dynamic, extra = self.words, self.dynamic, self.extra
        self.words, self.dynamic, self.extra = [], [], []
        while words and words[0] in ("{", "!", "}"):
            words, dynamic = words[1:], dynamic[1:]
        while words and words[-1] == "}":
            words, dynamic = words[:-1], dynamic[:-1]
        if not words:
            if extra:
                self.parts.append(" ".join(extra))
            return
        self.parts.append(" ".join(words + extra))
        self._inspect(words, dynamic)

    def _inspect(self, words: list[str], dynamic: list[bool]) -> None:
        start = 0
        while start < len(words) and _ASSIGNMENT.match(words[start]):
            start += 1
        if start >= len(words):
            return
        name = words[start]
        if dynamic[start] or any(ch in name for ch in "*?["):
            self.problems.append("the command name is only known when it runs")
        base = name.rsplit("/", 1)[-1]
        if base in KEYWORDS:
            self.problems.append(f"the command uses the shell keyword {base!r}")
        if base == "eval":
            self.problems.append("the command uses eval")
        rest = words[start + 1:]
        if base in SHELLS and "-c" in rest:
            index = rest.index("-c")
            if index + 1 < len(rest):
                self.nested(rest[index + 1])
        elif base in WRAPPERS:
            inner = _unwrap(base, rest)
            if inner:
                self.parts.append(" ".join(inner))
                self._inspect(inner, [False] * len(inner))
        elif base in ("find", "fd"):
            for flag in ("-exec", "-execdir", "-ok", "-okdir", "-x", "--exec", "-X", "--exec-batch"):
                if flag in rest:
                    tail = rest[rest.index(flag) + 1:]
                    cut = next((k for k, w in enumerate(tail) if w in (";", "+")), len(tail))
                    if tail[:cut]:
                        self.parts.append(" ".join(tail[:cut]))
                        self._inspect(tail[:cut], [False] * cut)


def _unwrap(base: str, rest: list[str]) -> list[str]:
    takes_value = WRAPPERS[base]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "--":
            i += 1
            break
        if base == "env" and _ASSIGNMENT.match(word):
            i += 1
            continue
        if not word.startswith("-") or word == "-":
            break
        i += 2 if word in takes_value else 1
    if base == "timeout" and i < len(rest):
        i += 1  # the duration
    return rest[i:]
