"""Small value nodes: constants and arithmetic for wiring params and for testing the runtime."""
from __future__ import annotations

from app.runtime.context import FrameContext
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port


class Number(Node):
    schema = NodeSchema(
        type_id="util.number", title="Number", category="util", help="A constant number.",
        outputs=(Port("value", ports.FLOAT),),
        params=(Param("value", ParamKind.FLOAT, 0.0, "the number", minimum=-1e9, maximum=1e9),),
    )

    def process(self, ctx: FrameContext) -> dict:
        return {"value": self.params.value}


class Scale(Node):
    schema = NodeSchema(
        type_id="util.scale", title="Scale", category="util", help="Multiplies a number by a gain.",
        inputs=(Port("value", ports.FLOAT),),
        outputs=(Port("value", ports.FLOAT),),
        params=(Param("gain", ParamKind.FLOAT, 1.0, "multiplier", minimum=-1e6, maximum=1e6),),
    )

    def process(self, ctx: FrameContext, value: float) -> dict:
        return {"value": value * self.params.gain}



class Clock(Node):
    schema = NodeSchema(
        type_id="util.clock", title="Clock", category="util",
        help="Seconds since the run started, scaled by speed; changes every frame.",
        outputs=(Port("seconds", ports.FLOAT),),
        params=(Param("speed", ParamKind.FLOAT, 1.0, "time multiplier", minimum=0.0, maximum=100.0),),
        volatile=True,
    )

    def process(self, ctx: FrameContext) -> dict:
        return {"seconds": ctx.time * self.params.speed}


NODES = [Number, Scale, Clock]
