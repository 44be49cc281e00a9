"""What a tool is: a name, a JSON schema, a risk level, and a coroutine that runs it.

Built-in tools and MCP tools are both :class:`Tool` objects, so one registry lists them
and one policy judges them. A tool's *canonical* name is what people see and write
rules for (``read_file``, ``github.create_issue``); its *wire* name is what the model
is given, restricted to the characters every provider accepts (``github__create_issue``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..engine.tooling import ToolOutput

RISKS = ("read_only", "low", "medium", "high")
#: What the model is sent of a result; the whole result is stored.
MODEL_TEXT_LIMIT = 20_000
_WIRE_RE = re.compile(r"[^A-Za-z0-9_-]")


class ToolError(Exception):
    """A tool could not do what was asked; the message is sent to the model."""


class ArgumentError(ToolError):
    """The arguments do not fit the tool's schema."""


@dataclass(frozen=True, slots=True)
class ToolEnv:
    """Where a call runs: the workspace (a resolved directory) and the limits."""

    workspace: Path
    shell_timeout: float = 120.0
    shell_output_limit: int = 1_000_000
    fetch_timeout: float = 20.0
    fetch_size_limit: int = 2_000_000
    #: Host name to IP addresses for fetch_url (default: the system resolver).
    resolve: Callable[[str], Awaitable[list[str]]] | None = None
    read_size_limit: int = 2_000_000


Runner = Callable[[dict[str, Any], ToolEnv], Awaitable[ToolOutput]]
#: Exactly what a call will do, for the approval prompt (raises ToolError if it cannot).
Previewer = Callable[[dict[str, Any], ToolEnv], str]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str  # canonical
    description: str
    schema: Mapping[str, Any]
    risk: str  # read_only | low | medium | high
    kind: str  # read | write | net | shell | mcp
    source: str = "builtin"  # builtin | mcp:<server>
    #: The argument that argument patterns are matched against (path, url, command).
    subject: str | None = None
    run: Runner | None = None
    preview: Previewer | None = None
    wire_name: str = ""
    #: Estimated cost of one call in USD (None: unknown).
    cost: Decimal | None = Decimal(0)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def wire(self) -> str:
        return self.wire_name or self.name

    @property
    def read_only(self) -> bool:
        return self.risk == "read_only"


def wire_name(server: str, tool: str) -> str:
    """A provider-safe name for ``server.tool`` (``[A-Za-z0-9_-]{1,64}``)."""
    name = _WIRE_RE.sub("_", f"{server}__{tool}")
    if len(name) > 64:
        digest = hashlib.sha256(f"{server}.{tool}".encode()).hexdigest()[:8]
        name = f"{name[:55]}_{digest}"
    return name


# --- arguments -------------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}


def validate_arguments(schema: Mapping[str, Any], arguments: Any) -> dict[str, Any]:
    """Check ``arguments`` against the subset of JSON Schema the built-in tools use
    (object, properties, required, additionalProperties, type, enum, minimum, maximum,
    minLength, maxLength, items). Raises :class:`ArgumentError` naming the problem;
    fills in ``default`` values."""
    if not isinstance(arguments, dict):
        raise ArgumentError("the arguments must be a JSON object")
    properties: Mapping[str, Any] = schema.get("properties", {})
    missing = [name for name in schema.get("required", ()) if name not in arguments]
    if missing:
        raise ArgumentError(f"missing required argument(s): {', '.join(missing)}")
    if schema.get("additionalProperties") is False:
        unknown = sorted(set(arguments) - set(properties))
        if unknown:
            raise ArgumentError(f"unknown argument(s): {', '.join(unknown)}; "
                                f"expected: {', '.join(properties) or 'none'}")
    clean = dict(arguments)
    for name, spec in properties.items():
        if name not in clean:
            if "default" in spec:
                clean[name] = spec["default"]
            continue
        _check_value(name, spec, clean[name])
    return clean


def _check_value(name: str, spec: Mapping[str, Any], value: Any) -> None:
    kind = spec.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        ok = any(isinstance(value, _TYPES.get(k, object)) and not (k in ("integer", "number") and isinstance(value, bool))
                 for k in kinds)
        if not ok:
            raise ArgumentError(f"{name} must be of type {' or '.join(kinds)}, not {_json_type(value)}")
    if "enum" in spec and value not in spec["enum"]:
        raise ArgumentError(f"{name} must be one of {', '.join(map(str, spec['enum']))}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            raise ArgumentError(f"{name} must be at least {spec['minimum']}")
        if "maximum" in spec and value > spec["maximum"]:
            raise ArgumentError(f"{name} must be at most {spec['maximum']}")
    if isinstance(value, str):
        if "minLength" in spec and len(value) < spec["minLength"]:
            raise ArgumentError(f"{name} must not be empty" if spec["minLength"] == 1
                                else f"{name} must be at least {spec['minLength']} characters")
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            raise ArgumentError(f"{name} must be at most {spec['maxLength']:,} characters")
        if "\x00" in value:
            raise ArgumentError(f"{name} must not contain NUL characters")
    if isinstance(value, list) and "items" in spec:
        for index, item in enumerate(value):
            _check_value(f"{name}[{index}]", spec["items"], item)


def _json_type(value: Any) -> str:
    for name, types in _TYPES.items():
        if isinstance(value, types) and not (name in ("integer", "number") and isinstance(value, bool)):
            return name if not (name == "integer" and isinstance(value, float)) else "number"
    return type(value).__name__


def validate_with_jsonschema(schema: Mapping[str, Any], arguments: Any) -> dict[str, Any]:
    """Full JSON Schema validation (for MCP tools, whose schemas can be anything)."""
    if not isinstance(arguments, dict):
        raise ArgumentError("the arguments must be a JSON object")
    try:
        import jsonschema
    except ImportError:  # the server validates too
        return dict(arguments)
    try:
        validator_cls = jsonschema.validators.validator_for(schema)
        error = jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(arguments))
    except jsonschema.exceptions.SchemaError:
        return dict(arguments)  # a broken schema is the server's problem; it validates too
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        raise ArgumentError(f"{where}: {error.message}")
    return dict(arguments)


# --- results ---------------------------------------------------------------------


def clip(text: str, limit: int = MODEL_TEXT_LIMIT, *, what: str = "output") -> str:
    """``text`` cut to about ``limit`` characters (head and tail kept), saying so."""
    if len(text) <= limit:
        return text
    head = text[: limit * 3 // 4]
    tail = text[-(limit // 4):]
    omitted = len(text) - len(head) - len(tail)
    return (f"{head}\n[... {omitted:,} characters of the {what} omitted here; the whole {what} "
            f"({len(text):,} characters) is stored with this tool call ...]\n{tail}")


def output(text: str, *, data: Any = None, is_error: bool = False, limit: int = MODEL_TEXT_LIMIT,
           what: str = "output") -> ToolOutput:
    """A result whose text is clipped for the model and whose data is stored whole."""
    clipped = clip(text, limit, what=what)
    stored = data if data is not None else {"text": text}
    return ToolOutput(clipped, is_error=is_error, data=stored,
                      extra={"truncated": clipped != text, "chars": len(text)})


def error(text: str) -> ToolOutput:
    return ToolOutput(text, is_error=True, data={"error": text})
