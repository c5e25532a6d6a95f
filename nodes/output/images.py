"""Output nodes: where frames go."""
from __future__ import annotations

from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, PathRole, Port
from nodes.output.credentials import SIGNING_PARAMS, Credentialing
from nodes.output.folders import prepare_output_dir, write_atomically
from nodes.output.provenance import MARK_PARAMS, Marks, mark_frame


class ImageSequence(Node):
    """Writes each frame as a numbered PNG; each file appears whole or not at all."""

    schema = NodeSchema(
        type_id="output.images", title="Image Sequence", category="output",
        help="Writes every frame as PREFIX000000.png, PREFIX000001.png, ... into a folder, marked as synthetic "
             "(invisible watermark, metadata tag, signed C2PA content credentials, and by default a small visible "
             "label).",
        inputs=(Port("image", ports.IMAGE, "the frame to write"),),
        params=(
            Param("path", ParamKind.PATH, "renders/frames", "output folder, relative to the working "
                  "directory", role=PathRole.OUTPUT),
            Param("prefix", ParamKind.STRING, "frame_", "file name prefix", max_length=64),
            *MARK_PARAMS,
            *SIGNING_PARAMS,
        ),
        volatile=True,
    )

    def open(self, run: RunContext) -> None:
        self._run = run
        if not self.params.path.strip():  # else the frames would land in the working directory, mixed with its files
            raise ReenactError("no output folder set", where=f"{self.node_id}.path",
                               hint="set a folder, e.g. --set out.path=renders/frames")
        self._folder = run.output(self.params.path)
        self._check_prefix()  # now, not at every frame of the run
        prepare_output_dir(self._folder)
        self._credentials = Credentialing(run, self.params)
        self._count = 0

    def _check_prefix(self) -> None:
        if "/" in self.params.prefix or "\\" in self.params.prefix:
            raise ReenactError(f"prefix '{self.params.prefix}' must be a file name, not a path",
                               hint="set a name such as frame_ and the folder with the path param")

    def params_changed(self, names: set[str]) -> None:
        if "path" in names:  # later frames go to the new folder, numbered on
            self._folder = self._run.output(self.params.path)
            prepare_output_dir(self._folder)
        if names & {"signing_cert", "signing_key"}:
            self._credentials = Credentialing(self._run, self.params)

    def process(self, ctx: FrameContext, image: Image) -> dict:
        self._check_prefix()  # it may be edited while the graph runs
        target = self._folder / f"{self.params.prefix}{self._count:06d}.png"
        marks = Marks.from_params(self.params)
        info = PngInfo()
        info.add_text("Software", "Reenact Studio")
        info.add_text("Comment", marks.metadata())
        picture = PILImage.fromarray(mark_frame(image.rgb(), marks))
        try:
            # Pillow, not imageio: a Ctrl-C inside imageio's writer prints a traceback from its __del__
            write_atomically(target, lambda partial: picture.save(partial, format="PNG", pnginfo=info),
                             lambda partial: self._credentials.sign(partial, target, marks.assertion()))
        except OSError as exc:
            raise ReenactError(f"cannot write frame: {exc.strerror}", where=str(target)) from None
        self._count += 1
        return {}

    def close(self) -> None:
        count = getattr(self, "_count", 0)
        if not count:
            return
        earlier = 0  # a render replaces its frames, and an earlier, longer one left more after them
        while (self._folder / f"{self.params.prefix}{count + earlier:06d}.png").exists():
            earlier += 1
        self._run.notice(f"{self.node_id}: wrote {count} frame{'' if count == 1 else 's'} to {self._folder}" + (
            f"; {earlier} frame(s) of an earlier render are still there after them" if earlier else ""))


NODES = [ImageSequence]
