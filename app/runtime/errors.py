"""Errors of the runtime. Each says what went wrong, where, and what to do about it."""
from __future__ import annotations

from dataclasses import dataclass


class ReenactError(Exception):
    """A problem a user can act on; the CLI prints it without a traceback. from_input: raised by a node
    because of what this input port holds (a portrait with no face): where that input never changes over a
    run, neither does the problem (`app/cli/frame_loop.py` stops the run)."""

    def __init__(self, what: str, *, where: str = "", hint: str = "", from_input: str = ""):
        self.what, self.where, self.hint, self.from_input = what, where, hint, from_input
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text} ({self.hint})" if self.hint else text


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (libraries often add pages of detail), or its type."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__


class ParamError(ReenactError):
    """A parameter value that does not fit its schema."""


class GraphError(ReenactError):
    """A graph that cannot be planned or run (cycle, dangling link, unknown node...)."""


class EndOfStream(Exception):
    """Raised by a source node when it has no more frames; ends a run cleanly."""


@dataclass(frozen=True)
class Problem:
    """One validation finding: `where` is a path into the preset, e.g. ``nodes[2].params.gain``."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


class ProblemsError(ReenactError):
    """Several problems found at once (validation reports all of them, never just the first)."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source, self.problems = source, list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = "1 problem" if len(self.problems) == 1 else f"{len(self.problems)} problems"
        super().__init__(f"{count}:\n{lines}", where=source)


@dataclass(frozen=True)
class NodeFailure:
    """A node that raised while processing a frame. The graph keeps running without it."""

    node_id: str
    node_type: str
    message: str
    traceback: str
    frame: int
    from_input: str = ""  # the input port whose value the node failed on, when it said (ReenactError)

    def __str__(self) -> str:
        return f"node '{self.node_id}' ({self.node_type}) failed at frame {self.frame}: {self.message}"
