"""Port types: registered values, not a closed list.

A port type is a tag bound to one documented representation (the Python classes a value may be), a
colour for pins and links, and a one-line summary for previews. The runtime declares `Image` and the
scalars; node families declare theirs (`FaceTrack` by tracking, `Motion` by retargeting), and plugins
may add more. Links need equal tags; `PortTypes.link_problem` is the one check the validator and the
editor share.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Colour = tuple[int, int, int]


def _plain_summary(value: Any) -> str:
    if value is None:
        return "no value yet"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass(frozen=True, eq=False)
class PortType:
    """tag: shown in the editor and the catalog, and what makes two ports linkable.
    classes: what a value on such a port may be (a callable returning them, for lazy imports).
    colour: (r, g, b) 0..255 for pins and links. summary: value -> short text for the preview."""

    tag: str
    classes: tuple[type, ...] | Callable[[], tuple[type, ...]]
    colour: Colour = (120, 120, 120)
    summary: Callable[[Any], str] = _plain_summary
    _resolved: list = field(default_factory=list, repr=False)

    def representation(self) -> tuple[type, ...]:
        """The Python classes a value on a port of this type may be (checked at node boundaries)."""
        if not self._resolved:
            self._resolved.append(self.classes() if callable(self.classes) else self.classes)
        return self._resolved[0]

    def describe(self, value: Any) -> str:
        return self.summary(value) if value is not None else "no value yet"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortType) and other.tag == self.tag

    def __hash__(self) -> int:
        return hash(self.tag)


def _image_classes() -> tuple[type, ...]:
    from app.runtime.gpu.image import Image

    return (Image,)


def _image_summary(value: Any) -> str:
    return f"image {value.width}x{value.height}"


# Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
IMAGE = PortType("Image", _image_classes, (86, 180, 233), _image_summary)
FLOAT = PortType("Float", (int, float), (0, 158, 115))
INT = PortType("Int", (int,), (240, 228, 66))
BOOL = PortType("Bool", (bool,), (213, 94, 0))
STRING = PortType("String", (str,), (190, 190, 190))
RUNTIME_TYPES = (IMAGE, FLOAT, INT, BOOL, STRING)


@dataclass
class PortTypes:
    """Port types by tag: the runtime's own plus those families and plugins register."""

    _by_tag: dict[str, PortType] = field(default_factory=lambda: {t.tag: t for t in RUNTIME_TYPES})

    def register(self, port_type: PortType) -> str | None:
        """Add a type; returns why it was refused (a different type already holds its tag), else None."""
        known = self._by_tag.get(port_type.tag)
        if known is not None and known is not port_type and known.classes is not port_type.classes:
            return f"port type '{port_type.tag}' is already registered with another representation; skipped"
        self._by_tag.setdefault(port_type.tag, port_type)
        return None

    def get(self, tag: str) -> PortType | None:
        return self._by_tag.get(tag)

    def tags(self) -> list[str]:
        return sorted(self._by_tag)

    @staticmethod
    def link_problem(source: PortType, target: PortType, source_name: object, target_name: object) -> str | None:
        """Why output `source_name` (of type `source`) cannot feed input `target_name`, or None if it can."""
        if source.tag != target.tag:
            return f"{source_name} gives {source.tag} but {target_name} takes {target.tag}"
        return None
