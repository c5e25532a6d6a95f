"""A plugin as a third party would write one: its own port type (`Heat`, drawn magenta) and two
nodes that use it. Registered by the tests through `Registry.load_module`, as an entry point would."""
from __future__ import annotations

from dataclasses import dataclass

from app.runtime import ports
from app.runtime.node import Node
from app.runtime.ports import PortType
from app.runtime.schema import NodeSchema, Param, ParamKind, Port


@dataclass(frozen=True)
class Heat:
    celsius: float


HEAT = PortType("Heat", (Heat,), (255, 0, 255), lambda heat: f"{heat.celsius:.1f} °C")


class HeatSource(Node):
    schema = NodeSchema("heat.source", "Heat Source", "heat", "a constant temperature",
                        outputs=(Port("heat", HEAT),),
                        params=(Param("celsius", ParamKind.FLOAT, 21.0, "temperature", minimum=-50, maximum=150),))

    def process(self, ctx) -> dict:
        return {"heat": Heat(self.params.celsius)}


class HeatGauge(Node):
    schema = NodeSchema("heat.gauge", "Heat Gauge", "heat", "reads a temperature as a number",
                        inputs=(Port("heat", HEAT),), outputs=(Port("celsius", ports.FLOAT),))

    def process(self, ctx, heat: Heat) -> dict:
        return {"celsius": heat.celsius}


PORT_TYPES = [HEAT]
NODES = [HeatSource, HeatGauge]
