"""The editor's preview and transport actions: what the preview shows, play, pause, step, seek,
loop, record and Render to file. A part of `Editor` (app/editor/actions.py), which provides the live
graph, the document, the registry, the options and `say`/`set_param`."""
from __future__ import annotations

from dataclasses import dataclass

from app.editor.live_status import Transport
from app.editor.notes import Tone
from app.editor.render_job import RenderJob, render_frames
from app.runtime import ports
from app.runtime.errors import ReenactError
from app.runtime.graph import Endpoint


PREVIEW_KEYS = (("a", "preview"), ("b", "preview_b"))  # the preview's sides, as the ui block keeps them


@dataclass
class PreviewChoice:
    a: Endpoint | None = None
    b: Endpoint | None = None  # the right side of the A/B split, when set
    split: float = 0.5


class Playback:
    """Preview and transport; mixed into `Editor`."""

    def set_preview(self, node_id: str, port: str | None = None, side: str = "a") -> Endpoint | None:
        """Preview an output port (by default the node's first Image output, else its first output);
        side 'b' sets the right half of the A/B split, None for `node_id` clears it."""
        endpoint = self._preview_port(node_id, port)
        setattr(self.preview, side, endpoint)
        self._watch_preview()
        return endpoint

    def clear_split(self) -> None:
        self.preview.b = None
        self._watch_preview()

    def play(self) -> None:
        """Play; at the end of the clip, from its start again."""
        if self.live.status().transport is Transport.ENDED:
            self.restart()
        else:
            self.live.play()

    def pause(self) -> None:
        self.live.pause()

    def toggle_play(self) -> None:
        self.pause() if self.live.status().transport is Transport.PLAYING else self.play()

    def step(self) -> None:
        self.live.step()

    def record(self, on: bool) -> None:
        """Recording on: the graph's sinks write their files (and feed devices) while it plays."""
        self.recording = on
        self.live.record(on)
        self.say("recording: output nodes write while the graph plays" if on else
                 "not recording: output nodes idle (Run > Render to file writes the whole clip)")

    def seek(self, frame: int) -> None:
        """Show frame `frame` (from 0) of the clip, paused."""
        self.live.seek(frame)

    def set_loop(self, on: bool) -> None:
        clip = self.live.status().clip
        if clip is None or clip.loops is None:
            raise ReenactError("the graph has no video clip to loop", hint="loop applies to a Video File node")
        self.set_param(clip.node_id, "loop", on)

    def render_to_file(self, frames: int) -> RenderJob:
        """Run the whole graph, sinks included, for `frames` frames or until the clip ends."""
        if self.render is not None and not self.render.progress.finished:
            raise ReenactError("a render is running already", hint="wait for it or cancel it")
        frames = render_frames(frames)
        self.render = RenderJob(self.document.graph.copy(), self.registry, self.options, frames)
        self.pause()  # the render gets the machine
        if self.recording:  # the live graph's outputs would write the same files
            self.record(False)
        self.say(f"rendering {frames} frames to {', '.join(self.render.paths)}")
        return self.render

    def render_finished(self) -> None:
        """Say how the render ended (called once, when its progress says finished)."""
        progress = self.render.progress
        for notice in progress.notices:
            self.say(notice, Tone.NOTE)
        for line in progress.waited:
            self.say(f"render: {line}", Tone.NOTE)
        for node_id, message in progress.failures.items():
            self.say(f"render: {message}", Tone.WARNING, node=node_id)
        verb = "cancelled after" if progress.cancelled else "rendered"
        tone = Tone.WARNING if progress.failures or progress.starved or progress.cancelled else Tone.OK
        self.say(f"{verb} {progress.done} frames to {', '.join(self.render.paths)}", tone)
        for line in progress.starved:  # last: the status bar's headline is that nothing reached the file
            self.say(f"render: {line}", Tone.WARNING)

    def restart(self) -> None:
        """Re-open every node on the document's graph (with every edit made so far) and play."""
        self.live.set_graph(self.document.graph, restart=True)
        self.live.play()

    def _watch_preview(self) -> None:
        self.live.watch([e for e in (self.preview.a, self.preview.b) if e is not None])

    def _drop_preview_of(self, node_ids: list[str]) -> None:
        for side in ("a", "b"):
            endpoint = getattr(self.preview, side)
            if endpoint is not None and endpoint.node in node_ids:
                setattr(self.preview, side, None)
        self._watch_preview()

    def _preview_port(self, node_id: str, port: str | None) -> Endpoint | None:
        spec = self.document.graph.nodes.get(node_id)
        node_class = self.registry.get(spec.type) if spec else None
        if node_class is None:
            return None
        outputs = node_class.schema.outputs
        if port is not None:
            return Endpoint(node_id, port) if node_class.schema.output(port) else None
        image = next((p for p in outputs if p.type == ports.IMAGE), None)
        chosen = image or (outputs[0] if outputs else None)
        return Endpoint(node_id, chosen.name) if chosen else None

    def remember_preview(self) -> None:
        """Keep the previewed ports in the document's ui block: the saved file opens showing them."""
        for side, key in PREVIEW_KEYS:
            endpoint = getattr(self.preview, side)
            if endpoint is None:
                self.document.ui.pop(key, None)
            else:
                self.document.ui[key] = [endpoint.node, endpoint.port]

    def restore_preview(self) -> None:
        """Preview what the file was saved showing (`remember_preview`), else `_default_preview`'s node."""
        default = self._default_preview()
        if default is not None:
            self.set_preview(default)
        for side, key in PREVIEW_KEYS:
            saved = self.document.ui.get(key)
            if isinstance(saved, list) and len(saved) == 2 and all(isinstance(part, str) for part in saved) \
                    and self._preview_port(*saved) is not None:
                self.set_preview(*saved, side=side)

    def _default_preview(self) -> str | None:
        """The node whose image an output takes (a file, a window): the finished frame, not a side branch
        added after it; else the last node with an Image output."""
        graph = self.document.graph
        for link in reversed(graph.links):
            sink, source = (self.registry.get(graph.nodes[e.node].type) if e.node in graph.nodes else None
                            for e in (link.target, link.source))
            given = source.schema.output(link.source.port) if sink and source and not sink.schema.outputs else None
            if given is not None and given.type == ports.IMAGE:
                return link.source.node
        for node_id, spec in reversed(graph.nodes.items()):
            node_class = self.registry.get(spec.type)
            if node_class and any(p.type == ports.IMAGE for p in node_class.schema.outputs):
                return node_id
        return None
