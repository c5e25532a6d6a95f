"""Image operations that sit between other stages."""
from __future__ import annotations

from app.runtime.context import FrameContext
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.image.convert import resize


class Resize(Node):
    """Lanczos resize; a side of 0 follows the other side's scale so the aspect ratio is kept."""

    schema = NodeSchema(
        type_id="image.resize", title="Resize", category="image",
        help="Resizes an image (Lanczos). Set one side to 0 to keep the aspect ratio.",
        inputs=(Port("image", ports.IMAGE),),
        outputs=(Port("image", ports.IMAGE),),
        params=(
            Param("width", ParamKind.INT, 512, "output width in pixels (0: from height)", minimum=0,
                  maximum=8192),
            Param("height", ParamKind.INT, 0, "output height in pixels (0: from width)", minimum=0,
                  maximum=8192),
        ),
    )

    def process(self, ctx: FrameContext, image: Image) -> dict:
        width, height = self.params.width, self.params.height
        if width == 0 and height == 0:
            return {"image": image}
        if width == 0:
            width = max(1, round(image.width * height / image.height))
        if height == 0:
            height = max(1, round(image.height * width / image.width))
        if (width, height) == (image.width, image.height):
            return {"image": image}
        return {"image": Image(resize(image.numpy(), width, height), image.timestamp)}


NODES = [Resize]
