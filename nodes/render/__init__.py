"""Rendering: the target posed by its motion (moderngl), and debugging overlays."""
from nodes.render import portrait
from nodes.render import overlay

NODES = [*portrait.NODES, *overlay.NODES]
