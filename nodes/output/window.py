"""A GLFW preview window. Its GL context is separate from the render context, so each is made
current around its own work (GLFW's call for this one; moderngl's `with ctx:` does not work on a
context it did not create)."""
from __future__ import annotations

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.gpu.context import GpuContext
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port


class PreviewWindow(Node):
    schema = NodeSchema(
        type_id="output.window", title="Preview Window", category="output",
        help="Shows frames in a window (letterboxed). Closing the window ends the run. Needs a display.",
        inputs=(Port("image", ports.IMAGE),),
        params=(Param("title", ParamKind.STRING, "Reenact Studio", "window title", max_length=200),
                Param("width", ParamKind.INT, 640, "initial window width", minimum=64, maximum=8192),
                Param("height", ParamKind.INT, 640, "initial window height", minimum=64, maximum=8192),
                Param("vsync", ParamKind.BOOL, False, "wait for the display's refresh (caps the frame rate)"),
                Param("without_display", ParamKind.ENUM, "error", "what to do where there is no display: fail, "
                      "or skip the window (for presets that also render to a file)", choices=("error", "skip"))),
        volatile=True,
        live=True,
        gpu=True,
    )

    def open(self, run: RunContext) -> None:
        self._window = None
        if run.embedded:  # GLFW windows belong to the main thread; the editor previews instead
            run.notice(f"window '{self.node_id}' is shown in the editor's preview")
            return
        if not run.options.display:
            if self.params.without_display == "skip":
                run.notice(f"no display: window '{self.node_id}' skipped")
                return
            raise ReenactError("no display to open a window on", hint="render to a file instead (output.video), "
                               "or bypass/remove the window node when running headless")
        import glfw  # only once a window opens: a headless run that skips it needs no GLFW
        import moderngl

        if not glfw.init():
            raise ReenactError("GLFW could not initialise the display", hint="check $DISPLAY")
        self._glfw = glfw
        for hint, value in ((glfw.CONTEXT_VERSION_MAJOR, 3), (glfw.CONTEXT_VERSION_MINOR, 3),
                            (glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)):
            glfw.window_hint(hint, value)
        self._window = glfw.create_window(self.params.width, self.params.height, self.params.title, None, None)
        if not self._window:
            glfw.terminate()
            raise ReenactError("the window could not be created (no OpenGL 3.3 on this display?)")
        glfw.make_context_current(self._window)
        glfw.swap_interval(1 if self.params.vsync else 0)
        self._gpu = GpuContext(moderngl.create_context(), backend="window", window_owned=True)
        self._program = self._gpu.program("blit", "blit")
        self._vao = self._gpu.ctx.vertex_array(self._program, [])

    def shows_frames(self) -> bool:
        return getattr(self, "_window", None) is not None  # not where it was skipped

    def process(self, ctx: FrameContext, image: Image) -> dict:
        if self._window is None:  # skipped: no display
            return {}
        glfw = self._glfw
        if glfw.window_should_close(self._window):
            raise EndOfStream
        glfw.make_context_current(self._window)  # the render context may be current on this thread
        texture = image.texture(self._gpu)  # a context of its own: the frame is uploaded through the bridge
        width, height = glfw.get_framebuffer_size(self._window)
        self._gpu.ctx.screen.use()
        self._gpu.ctx.viewport = (0, 0, width, height)
        self._gpu.ctx.clear(0.08, 0.08, 0.09)
        fit = min(width / image.width, height / image.height)
        self._program["scale"] = (image.width * fit / max(width, 1), image.height * fit / max(height, 1))
        texture.use(0)
        self._vao.render(mode=self._gpu.ctx.TRIANGLE_STRIP, vertices=4)
        glfw.swap_buffers(self._window)
        glfw.poll_events()
        return {}

    def close(self) -> None:
        if getattr(self, "_window", None) is not None:
            self._glfw.make_context_current(self._window)
            self._gpu.release()
            self._glfw.destroy_window(self._window)
            self._glfw.terminate()
            self._window = None


NODES = [PreviewWindow]
