"""The dearpygui node editor (`reenact edit`). The only package that imports dearpygui."""
from __future__ import annotations

import time
from pathlib import Path

from app.runtime.errors import ReenactError
from app.runtime.options import Options
from app.runtime.registry import Registry
from app.runtime.threads import apply_process_wide

SCREENSHOT_TIMEOUT_S = 300.0
MEASURE_WARMUP_FRAMES = 20  # `reenact bench`'s default warm-up
MEASURE_WARMUP_LIMIT_S = 60.0


def open_window(registry: Registry, options: Options, graph: Path | None, select: str | None = None,
                use_autosave: bool = True, play: bool = True):
    """The editor window on `graph` (a new graph if None), with node `select` in the inspector, playing.
    use_autosave: recover unsaved edits from an earlier session (not for scripted screenshots)."""
    if not options.display:
        raise ReenactError("the editor needs a display and $DISPLAY is not set",
                           hint="run it as `xvfb-run -a reenact edit ...`, or render headless with `reenact run GRAPH`")
    from app.editor.actions import Editor
    from app.editor.window import EditorWindow

    # before any GL context: the window's own is software GL too, and made before a run had set the
    # rasterizer's threads it got llvmpipe's default (a thread a core), whose bursts took every core from
    # the graph at once (27-28 fps in the editor, 31-33 with this, where the window was made first)
    apply_process_wide(options.threads)
    editor = Editor(registry, options=options)
    try:
        if graph is not None:
            editor.open(graph, use_autosave=use_autosave)
        if select is not None and select not in editor.document.graph.nodes:
            raise ReenactError(f"there is no node '{select}' to select",
                               hint=f"the graph's nodes: {', '.join(editor.document.graph.nodes) or 'none'}")
    except BaseException:
        editor.close()
        raise
    if select is not None:
        editor.select([select])
    window = EditorWindow(editor)
    if play:  # the graph runs while it is edited, from the first frame on
        editor.play()
    return window


def run_until_quit(window) -> None:
    import dearpygui.dearpygui as dpg

    while dpg.is_dearpygui_running() and not window.quit_requested:
        started = time.perf_counter()
        window.frame()
        window.pace(started)


def play_frames(window, frames: int) -> None:
    """Play until the graph has run `frames` frames (or a source ends), then pause."""
    if not _play_until(window, frames, paced=False, seconds=SCREENSHOT_TIMEOUT_S):
        raise ReenactError(f"the graph ran only {window.editor.live.status().frame} of {frames} frames in "
                           f"{SCREENSHOT_TIMEOUT_S:.0f} s", hint="ask for fewer --frames")
    window.editor.pause()
    for _ in range(3):  # let the last frame reach the preview
        window.frame()


def _play_until(window, frames: int, paced: bool, seconds: float) -> bool:
    """Play until the graph has run `frames` frames or its source ended (True), or `seconds` passed
    (False), the window drawn meanwhile: paced as `run_until_quit` paces it, or as fast as it goes."""
    from app.editor.live_status import Transport

    live = window.editor.live
    window.editor.play()
    deadline = time.monotonic() + seconds
    while live.status().frame < frames and live.status().transport is not Transport.ENDED:
        if time.monotonic() > deadline:
            return False
        started = time.perf_counter()
        window.frame()
        if paced:
            window.pace(started)
    return True


def measure(window, seconds: float, max_fps: float = 0.0) -> dict[str, float]:
    """Play for `seconds` (or until the clip ends) under the frame cap `max_fps` (0: as fast as the graph
    goes) and report UI and graph speed separately, the preview upload cost and the share of a core the
    window was left at the end. The UI is paced as in `run_until_quit`, so both rates are the ones a user
    gets."""
    from app.editor.live_status import Transport

    window.editor.live.max_fps = max_fps
    # as `reenact bench` warms up: opening the graph (0.75 s for video_to_portrait) and its first frames
    # are not its rate; counted, they understated it by a tenth
    if not _play_until(window, window.editor.live.status().frame + MEASURE_WARMUP_FRAMES, paced=True,
                       seconds=MEASURE_WARMUP_LIMIT_S):
        raise ReenactError(f"the graph ran only {window.editor.live.status().frame} frames in "
                           f"{MEASURE_WARMUP_LIMIT_S:.0f} s of warming up: there is no rate to measure",
                           hint="give the graph a source, a clip or a camera, and check that it runs with "
                                "`reenact bench GRAPH`")
    ui_ms, uploads = [], []
    first = window.editor.live.status().frame
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if window.editor.live.status().transport is Transport.ENDED:
            break  # the clip is over: frames after it would count as none
        before = time.perf_counter()
        window.frame()
        ui_ms.append(1000 * (time.perf_counter() - before))
        uploads.append(window.preview.upload_ms)
        window.pace(before)
    elapsed = time.perf_counter() - started
    frames = window.editor.live.status().frame - first
    window.editor.pause()
    if not ui_ms:
        raise ReenactError(f"the graph's source ended after {first} frames, before anything was measured",
                           hint=f"give the graph a source that runs longer than {MEASURE_WARMUP_FRAMES} frames, "
                                "or tick Loop for its clip")
    return {"ui_fps": len(ui_ms) / elapsed, "ui_frame_ms": sum(ui_ms) / len(ui_ms),
            "graph_fps": frames / elapsed, "preview_upload_ms": sum(uploads) / len(uploads),
            "ui_share": window.ui_share}
