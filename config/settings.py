"""One ``Settings`` object, built from defaults <- config.toml <- RUNG_* environment <- flags.

Every setting records where its value came from, so ``rung config show`` can tell the user.
Ollama's own convention is honoured: ``OLLAMA_HOST`` sets the server when nothing more
specific (a flag, ``RUNG_OLLAMA_HOST``, the config file) does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rung.config.errors import ConfigError

ENV_PREFIX = "RUNG_"
LEGACY_KEYS = {"tier": "default_tier"}  # old name -> current name (file and environment)
FLAG_NAMES = {"default_tier": "tier"}  # settings whose command-line flag is named otherwise


SECRETS = frozenset({"webhook_secret", "ntfy_token"})  # never shown by `config show`


class Settings(BaseModel):
    """Everything Rung can be told. Each field's description is what `config init` writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        "qwen3:4b",
        min_length=1,
        description="The Ollama model to chat with (any model `ollama list` shows).",
    )
    ollama_host: str = Field(
        "http://127.0.0.1:11434",
        min_length=1,
        description="The Ollama server. OLLAMA_HOST is used when this is not set.",
    )
    default_tier: str = Field(
        "agent",
        min_length=1,
        description="The tier chat and ask use: chatbot (answers only), agent (tools), "
        "assistant (tools, your profile, recall), or a plugin's (`rung tiers` lists them).",
    )
    num_ctx: int = Field(
        16384,
        ge=512,
        le=1_048_576,
        description="Context window in tokens, sent with every request (Ollama's num_ctx).",
    )
    keep_alive: str = Field(
        "5m",
        description="How long Ollama keeps the model loaded after a request (e.g. 5m, 1h, -1).",
    )
    think: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Thinking models: auto = the model's default, on or off.",
    )
    show_thinking: bool = Field(True, description="Show a thinking model's reasoning, dimmed.")
    temperature: float | None = Field(
        None, ge=0.0, le=2.0, description="Sampling temperature; unset = the model's default."
    )
    connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for a connection to the Ollama server."
    )
    read_timeout: float = Field(
        300.0,
        gt=0,
        description="Seconds to wait for the next piece of a reply (a cold model load is slow).",
    )
    max_steps: int = Field(
        12, ge=1, le=100, description="Model steps per turn before Rung asks for a final answer."
    )
    turn_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds a turn may take in all (model steps and tool calls) before it is "
        "stopped: a model that drips tokens or loops cannot keep a turn going for ever.",
    )
    max_reply_tokens: int | None = Field(
        None,
        ge=16,
        description="The most tokens the model may write in one step (Ollama's num_predict); "
        "unset: the room kept for the reply, a quarter of num_ctx up to 2048.",
    )
    tool_result_share: float = Field(
        0.25,
        ge=0.01,
        le=0.9,
        description="The largest share of num_ctx one tool result may take; the rest of it "
        "is cut, with a note saying how much was left out.",
    )
    compact_at: float = Field(
        0.8,
        ge=0.3,
        le=0.95,
        description="When a prompt would fill this share of num_ctx (or leave no room for "
        "the reply, if that comes first), older turns are summarised (what matters saved to "
        "memory first).",
    )
    max_tools: int = Field(
        16,
        ge=1,
        le=1000,
        description="With more tools enabled than this, each turn offers the model this many: "
        "the pinned ones and those closest to the conversation.",
    )
    pinned_tools: tuple[str, ...] = Field(
        (),
        description='Tools always offered, by name or glob (e.g. ["clock_*", "remember"]).',
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        min_length=1,
        description="The sentence-transformers model that embeds memory (change: memory reindex).",
    )
    chunk_size: int = Field(
        1000, ge=100, le=20_000, description="Characters per memory chunk when adding documents."
    )
    chunk_overlap: int = Field(
        150, ge=0, le=5000, description="Characters shared by neighbouring chunks of a document."
    )
    daemon_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="A TCP port on 127.0.0.1 where the daemon also serves its API, with the "
        "same token and the Host header checked (0: none; only its unix socket).",
    )
    web_port: int = Field(
        8737,
        ge=0,
        le=65535,
        description="The port on 127.0.0.1 where the daemon serves the web page once "
        "`rung web` asks for it (0: any free port).",
    )
    jobs_per_model: int = Field(
        1,
        ge=1,
        le=16,
        description="Scheduled jobs' turns that may talk to one model at once; the others "
        "wait in order (the queue survives a restart).",
    )
    heartbeat_every: int = Field(
        30,
        ge=0,
        le=1440,
        description="Minutes between heartbeats, inside active_hours: the daemon goes through "
        "heartbeat.md and tells you only what needs you (0: no heartbeat).",
    )
    active_hours: str = Field(
        "08:00-22:00",
        description='When the heartbeat beats ("HH:MM-HH:MM", local time; "00:00-00:00": always).',
    )
    heartbeat_tools: tuple[str, ...] = Field(
        (),
        description='The tools the heartbeat may call unattended, as "server:tool" globs; every '
        "other call is refused.",
    )
    heartbeat_notify: tuple[str, ...] = Field(
        (),
        description="Where the heartbeat's notices go besides the inbox: desktop, webhook, ntfy.",
    )
    heartbeat_budget_tokens: int = Field(
        50_000,
        ge=0,
        description="Model tokens the heartbeat may spend a day; past them it pauses until "
        "tomorrow, and says so once.",
    )
    heartbeat_budget_cpu_s: float = Field(
        300.0,
        ge=0,
        description="The daemon's CPU seconds the heartbeat may spend a day (as the tokens).",
    )
    webhook_url: str = Field(
        "", description="Where the webhook notification sink POSTs (a job's --notify webhook)."
    )
    webhook_secret: str = Field(
        "",
        description="The secret that signs each webhook POST (X-Rung-Signature: sha256= the "
        "HMAC-SHA256 of the body); never shown.",
    )
    ntfy_url: str = Field(
        "", description="The ntfy topic's URL, for a job's --notify ntfy (e.g. a self-hosted one)."
    )
    ntfy_token: str = Field("", description="A bearer token for the ntfy server; never shown.")
    quiet_hours: str = Field(
        "",
        description='Hours when notifications are held for one digest after ("22:00-07:00", '
        "local time; a job's urgent failures still go out). Empty: none.",
    )
    memory_max_file_mb: float = Field(
        20.0, gt=0, le=4096, description="Files larger than this (in MB) are not added to memory."
    )
    recall_passages: int = Field(
        4,
        ge=0,
        le=20,
        description="Assistant tier: passages from documents and past conversations recalled "
        "into each turn (0: none).",
    )
    recall_facts: int = Field(
        5, ge=0, le=50, description="Assistant tier: facts about you recalled into each turn."
    )
    memory_backend: Literal["embedded", "http"] = Field(
        "embedded",
        description="embedded: Chroma in the data folder. http: a Chroma server (`chroma run`).",
    )
    memory_host: str = Field(
        "127.0.0.1", min_length=1, description="The Chroma server's host, for memory_backend http."
    )
    memory_port: int = Field(
        8000, ge=1, le=65535, description="The Chroma server's port, for memory_backend http."
    )

    @property
    def tier(self) -> str:
        """The name of the tier in effect (`default_tier`, or `--tier`)."""
        return self.default_tier

    @field_validator("quiet_hours", "active_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if value.strip() and not re.fullmatch(
            r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value.strip()
        ):
            raise ValueError('write it as "HH:MM-HH:MM", e.g. "22:00-07:00"')
        return value.strip()

    @field_validator("heartbeat_notify")
    @classmethod
    def _sinks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in ("inbox", "desktop", "webhook", "ntfy")]
        if unknown:
            raise ValueError(f"no sink {unknown[0]!r}: use desktop, webhook, ntfy")
        return tuple(v for v in value if v != "inbox")

    @field_validator("pinned_tools", "heartbeat_tools", "heartbeat_notify", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """RUNG_PINNED_TOOLS="clock_*,remember": a list from the environment."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    sources: dict[str, str]  # field name -> where its value came from
    config_file: Path


def load_settings(
    config_file: Path,
    *,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Merge the four layers, validate, and keep where each value came from."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {name: "default" for name in Settings.model_fields}

    if "OLLAMA_HOST" in environ and environ["OLLAMA_HOST"].strip():
        values["ollama_host"] = environ["OLLAMA_HOST"].strip()
        sources["ollama_host"] = "env OLLAMA_HOST"
    for key, value in _read_file(config_file).items():
        values[key] = value
        sources[key] = f"file {config_file}"
    for old, new in LEGACY_KEYS.items():
        env_name = ENV_PREFIX + old.upper()
        if env_name in environ:
            values[new] = _env_value(environ[env_name])
            sources[new] = f"env {env_name}"
    for key in Settings.model_fields:
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = _env_value(environ[env_name])
            sources[key] = f"env {env_name}"
    for key, value in (flags or {}).items():
        if value is not None:
            values[key] = value
            sources[key] = f"flag --{FLAG_NAMES.get(key, key).replace('_', '-')}"

    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        raise _config_error(exc, values, sources) from None
    return LoadedSettings(settings, sources, config_file)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read the config file {path}: {exc}",
            hint="fix its permissions or encoding, or move it aside",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"the config file {path} is not valid TOML: {exc}",
            hint="fix that line, or move the file aside and run `rung config init`",
        ) from None
    data = _flatten(data)
    for old, new in LEGACY_KEYS.items():
        if old in data and new not in data:
            data[new] = data.pop(old)
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in {path}",
            hint="known settings: " + ", ".join(Settings.model_fields),
        )
    return data


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """A TOML table is a prefix: `[memory] backend = "http"` is `memory_backend = "http"`."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update({f"{key}_{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def _env_value(raw: str) -> Any:
    """Environment values are strings; an empty one means "unset" for optional settings."""
    return None if raw == "" else raw


def _config_error(
    exc: ValidationError, values: Mapping[str, Any], sources: Mapping[str, str]
) -> ConfigError:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "?"
    where = sources.get(key, "?")
    return ConfigError(
        f"bad value for setting {key!r} ({where}): {values.get(key)!r}: {error['msg']}",
        hint=f"allowed: {describe_allowed(key)}",
    )


def describe_allowed(key: str) -> str:
    """A short human description of what a setting accepts, from its JSON schema."""
    schema = Settings.model_json_schema()["properties"].get(key, {})
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    options = schema.get("anyOf", [schema])
    parts = []
    for option in options:
        kind = option.get("type", "value")
        if kind == "null":
            parts.append("unset")
            continue
        bounds = [
            f"{word} {option[name]}"
            for name, word in (
                ("minimum", ">="),
                ("exclusiveMinimum", ">"),
                ("maximum", "<="),
                ("exclusiveMaximum", "<"),
            )
            if name in option
        ]
        noun = {
            "integer": "an integer",
            "number": "a number",
            "boolean": "true or false",
            "array": "a list of texts",
        }.get(kind, "a non-empty text" if option.get("minLength") else "a text")
        if "minimum" in option and "maximum" in option:
            bounds = [f"from {option['minimum']} to {option['maximum']}"]
        parts.append(" ".join([noun, *bounds]))
    return " or ".join(parts)


def default_config_text() -> str:
    """The commented default config file that `rung config init` writes."""
    lines = [
        "# Rung configuration. Every line is commented out: the value shown is the default.",
        "# Uncomment and edit a line to change it. Environment variables RUNG_<NAME> and",
        "# command-line flags override this file; `rung config show` shows what is in effect.",
        "",
    ]
    for name, field in Settings.model_fields.items():
        lines.append(f"# {field.description} Allowed: {describe_allowed(name)}.")
        default = field.default
        example = f"# {name} = {_toml_value(default)}" if default is not None else f"# {name} ="
        lines.append(example)
        lines.append("")
    return "\n".join(lines)


def write_settings(path: Path, values: Mapping[str, Any]) -> None:
    """Set `values` in the config file and keep everything else in it, comments included.

    A setting already there is changed in place, in its table if it sits in one
    (`[memory] port` for memory_port), its comment kept; one commented out (as `config
    init` writes it) is uncommented with the new value; one not there is added before the
    first table. The new text must read back as valid settings with these values before it
    replaces the file, in one atomic step (through a link, the file it names). A missing
    file starts as the commented default that `config init` writes.
    """
    _read_file(path)  # a broken file stops here, untouched
    text = path.read_text(encoding="utf-8") if path.exists() else default_config_text()
    lines = text.splitlines()
    for key, value in values.items():
        _set_line(lines, key, _toml_value(value))
    new_text = "\n".join(lines) + "\n"
    _check_written(path, new_text, values)
    target = path.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(new_text, encoding="utf-8")
    if target.exists():
        shutil.copymode(target, partial)
    os.replace(partial, target)


def _set_line(lines: list[str], key: str, value: str) -> None:
    """Set `key = value` in a config file's lines (see write_settings)."""
    names = {key, *_old_names(key)}
    table: str | None = None  # the table the line is in; "" for one we do not read
    top = len(lines)  # where the first table starts
    found: list[tuple[int, str]] = []  # (line, the name to write there)
    commented: list[int] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("["):
            header = re.match(r"\s*\[\s*([\w-]+)\s*\]\s*(#.*)?$", line)
            table = header.group(1) if header else ""  # an array of tables, a dotted name
            top = min(top, i)
            continue
        assigned = re.match(r"\s*([\w-]+)\s*=", line)
        if assigned and table is None and assigned.group(1) in names:
            found.append((i, key))  # an old name becomes the new one
        elif assigned and table and f"{table}_{assigned.group(1)}" in names:
            found.append((i, assigned.group(1)))
        elif table is None and re.match(rf"\s*#\s*{re.escape(key)}\s*=", line):
            commented.append(i)
    if found:
        (first, name), rest = found[0], found[1:]
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        lines[first] = f"{indent}{name} = {value}{_trailing_comment(lines[first])}"
        for extra, _ in reversed(rest):
            del lines[extra]
    elif commented:
        lines[commented[0]] = f"{key} = {value}"
    else:  # after the last top-level line, before the blank lines above a table
        while top > 0 and not lines[top - 1].strip():
            top -= 1
        above_table = top < len(lines) and lines[top].lstrip().startswith("[")
        lines[top:top] = [f"{key} = {value}", *([""] if above_table else [])]


def _trailing_comment(line: str) -> str:
    """The comment at the end of a `key = value` line, with the spaces before it."""
    for i, char in enumerate(line):
        if char == "#":
            try:
                tomllib.loads(line[:i])  # a `#` inside a string leaves the string open
            except tomllib.TOMLDecodeError:
                continue
            return line[len(line[:i].rstrip()) :]
    return ""


def _old_names(key: str) -> list[str]:
    return [old for old, new in LEGACY_KEYS.items() if new == key]


def _check_written(path: Path, text: str, values: Mapping[str, Any]) -> None:
    """The new file's text must be valid settings that say `values`."""
    try:
        data = _flatten(tomllib.loads(text))
        for old, new in LEGACY_KEYS.items():
            if old in data and new not in data:
                data[new] = data.pop(old)
        Settings.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(
            f"cannot update {path}: the result would not be valid ({exc})",
            hint="fix the file by hand, or move it aside and run this again",
        ) from None
    for key, value in values.items():
        if key not in data or _toml_value(data[key]) != _toml_value(value):
            raise ConfigError(
                f"cannot set {key} in {path}: it is also set there as a dotted key or in an "
                "inline table",
                hint=f"edit {path} by hand so that it sets {key} once",
            )


def _toml_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def settings_table(loaded: LoadedSettings) -> list[tuple[str, str, str]]:
    """(name, effective value, source) rows for `rung config show`."""
    data = loaded.settings.model_dump()

    def shown(name: str) -> str:
        if name in SECRETS:
            return "(set)" if data[name] else "(unset)"
        return "(unset)" if data[name] is None else _toml_value(data[name])

    return [(name, shown(name), loaded.sources[name]) for name in Settings.model_fields]
