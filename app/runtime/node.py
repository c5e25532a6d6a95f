"""The Node base class: a schema plus one `process` method, with optional lifecycle hooks."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from app.runtime.schema import NodeSchema

if TYPE_CHECKING:
    from app.runtime.context import FrameContext, RunContext


class ParamValues:
    """A node's current params with attribute access (`self.params.gain`)."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Node:
    """Subclass with a `schema` and a `process(ctx, **inputs) -> {output_name: value}`.

    Lifecycle: `open(run)` once before the first frame (acquire devices, files, GL objects),
    `close()` once at the end (always called, also after errors or Ctrl-C). `params_changed(names)`
    tells a node with state which params were edited between frames.
    """

    schema: ClassVar[NodeSchema]

    def __init__(self, node_id: str, params: dict[str, Any]):
        self.node_id = node_id
        self.params = ParamValues(params)

    def open(self, run: RunContext) -> None:
        """Acquire resources. Raise ReenactError with a clear message if that is impossible."""

    def close(self) -> None:
        """Release resources; must be safe to call after a failed `open`."""

    def process(self, ctx: FrameContext, **inputs: Any) -> dict[str, Any]:
        raise NotImplementedError

    # A node may split its frame in two (see `splits_frame`): `prepare`, the host's share (meshes, colour
    # statistics), and `draw`, what needs the GL context; its `process` is then `draw(prepare(...))`. A
    # pipelined run prepares a frame on the capture thread while the render thread draws the one before,
    # so `prepare` must keep to state `draw` does not touch, and read its inputs' pixels from host memory.
    def prepare(self, ctx: FrameContext, **inputs: Any) -> Any:
        raise NotImplementedError

    def draw(self, ctx: FrameContext, prepared: Any) -> dict[str, Any]:
        raise NotImplementedError

    def params_changed(self, names: set[str]) -> None:
        """Called between frames after `self.params` was updated."""

    def run_action(self, name: str) -> None:
        """Perform one of the schema's actions; called between frames."""
        raise NotImplementedError(f"{self.schema.type_id} has no action '{name}'")

    def beside_seconds(self) -> float:
        """Seconds of work done beside the graph by the node's helpers on their own threads since they were
        made (its attributes that count it as `busy_seconds`: a `LatePass`, a video output's frame writer):
        the frame budget counts it as the node's cost, which the node's own timing leaves out."""
        counts = (getattr(value, "busy_seconds", None) for value in vars(self).values())
        return sum(count for count in counts if isinstance(count, float))

    def shows_frames(self) -> bool:
        """Whether this open node shows its frames as they are made (`NodeSchema.live`): a run with one
        plays its source at the source's own rate. A live node that is not showing any says False."""
        return self.schema.live

    def status(self) -> str:
        """A short line for the editor and the CLI (e.g. 'camera lost, retrying in 2 s')."""
        return ""

    def status_image(self):
        """A small picture for the editor to show beside the status line (an `Image`, e.g. the recorded
        frame a target selection uses), or None. Asked for a few times a second, between frames; only
        nodes that override it get a place for one (`draws_status_image`)."""
        return None

    @classmethod
    def upgrade_params(cls, from_version: int, params: dict[str, Any]) -> dict[str, Any]:
        """Bring params saved by an older `type_version` up to the current one."""
        return params


def _overrides(node_class: type | None, method: str) -> bool:
    """Whether `node_class` is a Node class with its own `method`, not the base class's."""
    return isinstance(node_class, type) and issubclass(node_class, Node) and \
        getattr(node_class, method) is not getattr(Node, method)


def splits_frame(node_class: type | None) -> bool:
    """Whether a node class prepares its frames apart from drawing them (overrides `prepare`)."""
    return _overrides(node_class, "prepare")


@dataclass
class Prepared:
    """A frame a node prepared ahead (`Node.prepare`): its value, or the error preparing it raised, which
    the frame's `draw` raises in its place; and the seconds it took, which count as the node's."""
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0

    @classmethod
    def of(cls, node: Node, ctx: FrameContext, inputs: dict[str, Any]) -> Prepared:
        started = time.perf_counter()
        try:
            return cls(node.prepare(ctx, **inputs), seconds=time.perf_counter() - started)
        except Exception as exc:  # reported by the frame that draws it, as any failure of the node
            return cls(error=exc, seconds=time.perf_counter() - started)

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def draws_status_image(node_class: type | None) -> bool:
    """Whether a node class shows a picture beside its status line (it overrides `status_image`)."""
    return _overrides(node_class, "status_image")
