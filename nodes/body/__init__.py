"""Body: the source's torso motion retargeted onto the target's own torso (body.retarget).

The body is tracked by track.body (nodes/track/body.py); the BodyMotion this family gives is drawn by
the renderer."""
from nodes.body import retarget

NODES = [*retarget.NODES]
