"""Neural refinement: a per-target network that corrects the render."""
from nodes.refine import neural

NODES = [*neural.NODES]
