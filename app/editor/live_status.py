"""What the UI reads of the graph running live (`live.LiveGraph` publishes it, a frame at a time)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from app.editor.timeline import Clip
from app.runtime.gpu.image import Image
from app.runtime.graph import Endpoint
from app.runtime.timing import TimingStats


class Transport(Enum):
    PLAYING = "playing"
    PAUSED = "paused"
    ENDED = "ended"  # a source ran out of frames; restart to play again


@dataclass(frozen=True)
class LiveStatus:
    """What the UI shows about the running graph. `serial` bumps with every published frame."""

    serial: int = 0
    frame: int = 0
    fps: float = 0.0
    transport: Transport = Transport.PAUSED
    timings: dict[str, TimingStats] = field(default_factory=dict)  # node id -> recent run times
    cached: frozenset[str] = frozenset()  # nodes that run only when a param or an input changes
    failures: dict[str, str] = field(default_factory=dict)  # node id -> message
    idle: dict[str, str] = field(default_factory=dict)  # node id -> why it is not running
    notes: dict[str, str] = field(default_factory=dict)  # node id -> the node's own status line
    # node id -> the node's status picture, for nodes that override `status_image()` (see editor/node_pictures.py)
    pictures: dict[str, Image] = field(default_factory=dict)
    outputs: dict[Endpoint, Any] = field(default_factory=dict)  # the watched ports' newest values
    message: str = ""  # the latest thing the user should read (notices, refused graphs)
    said: tuple[tuple[int, str], ...] = ()  # the latest of those, numbered: every one for the message log
    image_path: str = "no GL context yet"  # how frames move between GL, torch and host memory, and why
    clip: Clip | None = None  # the source the timeline follows, with its length
    recording: bool = False  # sinks (files, windows, devices) run only while recording
    seeking: int | None = None  # the frame a seek is running towards
    budget: tuple[str, ...] = ()  # cheaper settings the frame budget has taken to hold max_fps (node.param=value)
    busy: float = 0.0  # the share of max_fps's frame time the graph's own work takes lately (0: no cap)
    clip_rate: float = 0.0  # a clip's own frame rate where it holds playback under max_fps (0: it does not)
