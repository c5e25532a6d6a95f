"""Declarative node schemas: ports, typed params with defaults/ranges/help, and node actions.

A param's `coerce` is the one place values from presets, `--set` and the editor are checked, so every
route into a running node gets the same rules and the same messages.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from app.runtime.errors import ParamError
from app.runtime.ports import PortType


class ParamKind(Enum):
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    ENUM = "enum"
    STRING = "string"
    PATH = "path"
    COLOR = "color"
    VECTOR = "vector"


class PathRole(Enum):
    """What a path param points at: an asset to read, or a file the node writes."""

    ASSET = "asset"
    OUTPUT = "output"


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


@dataclass(frozen=True)
class Param:
    """One typed node parameter.

    For FLOAT/INT, `minimum`/`maximum` bound the value; for VECTOR they bound each component and
    `size` fixes the length. ENUM values must be one of `choices`. COLOR is RGBA floats in [0, 1].
    """

    name: str
    kind: ParamKind
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    size: int = 0
    role: PathRole = PathRole.ASSET
    max_length: int = 4096
    # an asset path's kinds of file: (label, suffixes) each, which the editor's file picker shows first
    files: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def coerce(self, value: Any) -> Any:
        """Check `value` against this param and return it in canonical form; raise ParamError."""
        return _COERCERS[self.kind](self, value)

    def parse_text(self, text: str) -> Any:
        """Parse a command-line string (`--set node.param=TEXT`) and coerce it."""
        if self.kind in (ParamKind.STRING, ParamKind.PATH, ParamKind.ENUM):
            return self.coerce(text)
        if self.kind is ParamKind.BOOL:
            lowered = text.strip().lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ParamError(f"'{text}' is not a boolean", hint="use true or false")
        if self.kind is ParamKind.COLOR and _HEX_COLOR.match(text.strip()):
            return self.coerce(text.strip())
        if self.kind in (ParamKind.VECTOR, ParamKind.COLOR):
            parts = [p for p in re.split(r"[,\s]+", text.strip().strip("[]()")) if p]
            return self.coerce([_parse_number(p) for p in parts])
        return self.coerce(_parse_number(text))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for the catalog and the editor."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind.value, "default": self.default,
                               "help": self.help}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.choices:
            out["choices"] = list(self.choices)
        if self.size:
            out["size"] = self.size
        if self.kind is ParamKind.PATH:
            out["role"] = self.role.value
        return out


def _parse_number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ParamError(f"'{text}' is not a number") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(param: Param, value: float) -> None:
    if not math.isfinite(value):
        raise ParamError(f"{value} is not a finite number", hint="use a real number")
    if param.minimum is not None and value < param.minimum:
        raise ParamError(f"{value} is below the minimum {param.minimum}")
    if param.maximum is not None and value > param.maximum:
        raise ParamError(f"{value} is above the maximum {param.maximum}")


def _coerce_float(param: Param, value: Any) -> float:
    if not _is_number(value):
        raise ParamError(f"{value!r} is not a number", hint="a float param needs a number")
    _check_range(param, float(value))
    return float(value)


def _coerce_int(param: Param, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParamError(f"{value!r} is not an integer", hint="an int param needs a whole number")
    _check_range(param, value)
    return value


def _coerce_bool(param: Param, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParamError(f"{value!r} is not a boolean", hint="use true or false")
    return value


def _coerce_enum(param: Param, value: Any) -> str:
    if value not in param.choices:
        raise ParamError(f"{value!r} is not one of {', '.join(param.choices)}")
    return value


def _coerce_string(param: Param, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(f"{value!r} is not a string")
    if len(value) > param.max_length:
        raise ParamError(f"is {len(value)} characters long, more than {param.max_length}")
    if "\x00" in value:
        raise ParamError("contains a NUL character")
    return value


def _coerce_color(param: Param, value: Any) -> list[float]:
    if isinstance(value, str):
        match = _HEX_COLOR.match(value.strip())
        if not match:
            raise ParamError(f"{value!r} is not a colour", hint="use #RRGGBB, #RRGGBBAA or [r, g, b, a]")
        digits = match.group(1) + ("ff" if len(match.group(1)) == 6 else "")
        return [round(int(digits[i:i + 2], 16) / 255, 4) for i in range(0, 8, 2)]
    if not isinstance(value, (list, tuple)) or len(value) not in (3, 4):
        raise ParamError(f"{value!r} is not a colour", hint="use [r, g, b] or [r, g, b, a] in 0..1")
    rgba = [*value, 1.0] if len(value) == 3 else list(value)
    for component in rgba:
        if not _is_number(component) or not 0.0 <= component <= 1.0:
            raise ParamError(f"{value!r} has a component outside 0..1")
    return [float(c) for c in rgba]


def _coerce_vector(param: Param, value: Any) -> list[float]:
    if not isinstance(value, (list, tuple)):
        raise ParamError(f"{value!r} is not a list of numbers")
    if param.size and len(value) != param.size:
        raise ParamError(f"has {len(value)} components, needs {param.size}")
    out = []
    for component in value:
        if not _is_number(component):
            raise ParamError(f"{value!r} has a component that is not a number")
        _check_range(param, float(component))
        out.append(float(component))
    return out


_COERCERS = {
    ParamKind.FLOAT: _coerce_float,
    ParamKind.INT: _coerce_int,
    ParamKind.BOOL: _coerce_bool,
    ParamKind.ENUM: _coerce_enum,
    ParamKind.STRING: _coerce_string,
    ParamKind.PATH: _coerce_string,
    ParamKind.COLOR: _coerce_color,
    ParamKind.VECTOR: _coerce_vector,
}


@dataclass(frozen=True)
class Port:
    """A typed input or output. An optional input may stay unconnected (the node gets None)."""

    name: str
    type: PortType
    help: str = ""
    optional: bool = False

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.tag, "help": self.help, "optional": self.optional}


@dataclass(frozen=True)
class Action:
    """A one-shot command on a node (e.g. "calibrate neutral"), shown as a button in the editor."""

    name: str
    label: str
    help: str = ""


@dataclass(frozen=True)
class Degrade:
    """A cheaper setting a frame-budget run may switch a param to when frames run late, and back when
    there is headroom: `values` from the mildest to the cheapest, each taken in turn. A value counts only
    when it is cheaper than the param's current one (further along `values`, or, for numbers, further
    from the default in the direction `values` go), so a user's own cheaper setting is never raised."""

    param: str
    values: tuple[Any, ...]
    gives_up: str  # what the cheaper setting costs, for the log and the editor

    def cheaper_than(self, current: Any, default: Any) -> tuple[Any, ...]:
        if current in self.values:
            return self.values[self.values.index(current) + 1:]
        if _is_number(current) and _is_number(self.values[0]):
            rising = self.values[0] > default
            return tuple(v for v in self.values if (v > current if rising else v < current))
        return self.values


@dataclass(frozen=True)
class NodeSchema:
    """Everything the catalog, the validator and the editor need to know about a node type.

    volatile: the node reads or writes the outside world (camera, clock, file), so it runs every
    frame; every other node is cached by the signature of its params and inputs.
    gpu: the node uses the GPU context (GL or CUDA); a pipelined run keeps it, and everything after
    it, in the render stage on the thread that owns the context.
    live: the node shows frames as they are made (a window, a virtual camera): `reenact run` then plays
    the source at its own frame rate instead of as fast as it can.
    degrade: cheaper settings a frame-budget run may take, mildest first (see `Degrade`).
    """

    type_id: str
    title: str
    category: str
    help: str
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    params: tuple[Param, ...] = ()
    actions: tuple[Action, ...] = ()
    type_version: int = 1
    volatile: bool = False
    gpu: bool = False
    live: bool = False
    degrade: tuple[Degrade, ...] = ()
    _params_by_name: dict[str, Param] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._params_by_name.update({p.name: p for p in self.params})
        for group, ports in (("input", self.inputs), ("output", self.outputs)):
            names = [p.name for p in ports]
            if len(names) != len(set(names)):
                raise ValueError(f"{self.type_id}: duplicate {group} port names {names}")
        for step in self.degrade:  # a declaration that cannot be applied is the node author's bug
            param = self.param(step.param)
            if param is None or not step.values:
                raise ValueError(f"{self.type_id}: degrade step for unknown param '{step.param}' or with no values")
            for value in step.values:
                param.coerce(value)

    def param(self, name: str) -> Param | None:
        return self._params_by_name.get(name)

    def check_param(self, name: str, value: Any, from_text: bool = False) -> Any:
        """The one check of a param value, whether it comes from a preset, `--set` (`from_text`), the
        editor or a live edit: returns the canonical value; ParamError for an unknown name (listing the
        known ones) or a value that does not fit."""
        param = self.param(name)
        if param is None:
            known = ", ".join(p.name for p in self.params) or "none"
            raise ParamError(f"unknown param of {self.type_id} (known: {known})")
        return param.parse_text(value) if from_text else param.coerce(value)

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.type_id, "type_version": self.type_version, "title": self.title,
            "category": self.category, "help": self.help, "volatile": self.volatile, "gpu": self.gpu,
            "inputs": [p.describe() for p in self.inputs],
            "outputs": [p.describe() for p in self.outputs],
            "params": [p.describe() for p in self.params],
            "actions": [{"name": a.name, "label": a.label, "help": a.help} for a in self.actions],
            "degrade": [{"param": d.param, "values": list(d.values), "gives_up": d.gives_up} for d in self.degrade],
        }
