"""What the editor says to the user: a message, its tone and the node that said it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum


class Tone(Enum):
    OK = "ok"  # an action did what was asked
    NOTE = "note"  # the running graph says something
    WARNING = "warning"  # a refusal or a failure, with its reason


@dataclass(frozen=True)
class Message:
    text: str
    tone: Tone = Tone.OK
    at: float = field(default_factory=time.time)
    node: str | None = None  # the node that said it, if one did
