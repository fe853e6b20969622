"""A tool call's arguments against the tool's JSON schema, before anything runs.

Small models get arguments nearly right: "5" for an integer, "celsius" for the enum's
"Celsius", `city_name` for `city`, or the schema itself copied into the call. `repair`
fixes what can be fixed without guessing — a number or boolean written as text, a number
where text is wanted, one value where a list of them is wanted, an enum value in another
case, an argument named as a defined one in another case or with `-` for `_`, one
argument the schema does not define where one required argument is missing (the value
of the right type: renamed to it), arguments the schema does not define beside the ones
it does (dropped, and said) — and names everything else as a problem: a call made only
of arguments the tool does not take (a copied schema, or values made up for a tool that
takes none: what was meant is unknown), a value outside an enum, a type that cannot be
read as the right one, a required argument missing. A call with a problem is never run as
written; the model is told what was wrong, once per call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rung.tools.base import ToolSpec, argument_problem

MAX_LISTED = 12  # defined arguments or enum values named in a problem


@dataclass
class Repaired:
    arguments: dict[str, Any]
    fixes: list[str] = field(default_factory=list)  # what was changed, in words
    problems: list[str] = field(default_factory=list)  # what could not be, in words

    @property
    def ok(self) -> bool:
        return not self.problems


def repair(spec: ToolSpec, arguments: dict[str, Any]) -> Repaired:
    """`arguments` made to fit the tool's schema where that is safe, and what is still wrong."""
    result = Repaired({})
    result.arguments = _object(spec.parameters, arguments, "", result)
    problem = argument_problem(spec, result.arguments)  # what else the schema says
    if problem is not None:
        result.problems.append(problem)
    return result


def _object(schema: dict[str, Any], value: dict[str, Any], where: str, out: Repaired) -> Any:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return value
    fixed: dict[str, Any] = {}
    unknown: list[str] = []
    # A schema that says nothing of other arguments defines all of them: one it does not
    # name is a mistake (a copied schema, a misremembered name), not an extra.
    open_ended = schema.get("additionalProperties", False) is not False or (
        "patternProperties" in schema
    )
    for key, item in value.items():
        name = key if key in properties else _renamed(key, properties, value)
        if name is None:
            if open_ended:
                fixed[key] = item  # the schema lets other arguments through
            else:
                unknown.append(key)
            continue
        if name != key:
            out.fixes.append(f"{where}{key} → {name}")
        fixed[name] = _value(properties[name], item, f"{where}{name}", out)
    missing = [p for p in schema.get("required") or [] if p in properties and p not in fixed]
    if len(unknown) == 1 and len(missing) == 1 and _fits(properties[missing[0]], value[unknown[0]]):
        key, name = unknown[0], missing[0]  # one argument misnamed: the one that is missing
        out.fixes.append(f"{where}{key} → {name} (the one required argument missing)")
        fixed[name] = _value(properties[name], value[key], f"{where}{name}", out)
        unknown = []
    if unknown and fixed:  # a call with its own arguments, and some beside them: dropped
        dropped = ", ".join(f"{where}{key}" for key in unknown)
        out.fixes.append(f"dropped {dropped} (not arguments of the tool)")
    elif unknown:  # nothing but arguments the tool does not take: what was meant is unknown
        listed = ", ".join(list(properties)[:MAX_LISTED]) or "none"
        said = ", ".join(f"{where}{key}" for key in unknown)
        out.problems.append(f"{said}: not arguments of this tool (its arguments: {listed})")
    return fixed


def _fits(schema: Any, value: Any) -> bool:
    """`value` is of a type `schema` allows as it is (no conversion)."""
    kinds = _kinds(schema)
    return not kinds or any(_is(kind, value) for kind in kinds)


def _renamed(key: str, properties: dict[str, Any], given: dict[str, Any]) -> str | None:
    """The defined argument `key` names in another case or with - for _, if just one does
    and it was not given itself."""
    loose = _loose(key)
    matches = [p for p in properties if _loose(p) == loose and p not in given]
    return matches[0] if len(matches) == 1 else None


def _loose(name: str) -> str:
    return re.sub(r"[-_\s]", "", name).lower()


def _value(schema: Any, value: Any, where: str, out: Repaired) -> Any:
    if not isinstance(schema, dict):
        return value
    kinds = _kinds(schema)
    if kinds and not any(_is(kind, value) for kind in kinds):
        for kind in kinds:
            converted = _convert(kind, value, schema)
            if converted is not _NO:
                out.fixes.append(f"{where}: {json.dumps(value)} → {json.dumps(converted)}")
                value = converted
                break
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        same = [e for e in enum if isinstance(e, str) and isinstance(value, str)]
        match = [e for e in same if e.casefold() == value.strip().casefold()]
        if len(match) == 1:
            out.fixes.append(f"{where}: {json.dumps(value)} → {json.dumps(match[0])}")
            value = match[0]
        else:
            listed = ", ".join(json.dumps(e) for e in enum[:MAX_LISTED])
            out.problems.append(f"{where}: {json.dumps(value)} is not one of {listed}")
            return value
    if isinstance(value, dict) and "object" in kinds:
        return _object(schema, value, f"{where}.", out)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_value(schema["items"], v, f"{where}[{n}]", out) for n, v in enumerate(value)]
    return value


_NO = object()  # no safe conversion


_TYPES: dict[str, type] = {
    "string": str,
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


def _kinds(schema: Any) -> list[str]:
    """The types a schema allows: "type" as one name or a list of them."""
    kinds = schema.get("type") if isinstance(schema, dict) else None
    return [kinds] if isinstance(kinds, str) else [k for k in kinds or [] if isinstance(k, str)]


def _is(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = _TYPES.get(kind)
    return expected is None or isinstance(value, expected)  # a type not known here: as given


def _convert(kind: str, value: Any, schema: dict[str, Any]) -> Any:
    """`value` as `kind` when that reads it exactly ("5" → 5, 5 → "5", "true" → True, one
    item → a list of it, an object written as JSON text → the object); else _NO."""
    if kind in ("integer", "number") and isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):  # "1,5" or "5 km": not read as a number
            return _NO
        number = float(text)
        if kind == "integer":
            return int(number) if number.is_integer() else _NO
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if kind in ("array", "object") and isinstance(value, str) and value.strip()[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return _NO
        return parsed if _is(kind, parsed) else _NO
    if kind == "array" and not isinstance(value, list | dict):
        items = _kinds(schema.get("items"))
        if not items or any(_is(item, value) for item in items):
            return [value]
    return _NO
