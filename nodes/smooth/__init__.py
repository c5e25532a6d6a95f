"""Smoothing of tracks and motions on the frames' own timestamps."""
from nodes.smooth import one_euro

NODES = [*one_euro.NODES]
