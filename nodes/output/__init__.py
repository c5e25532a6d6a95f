"""Outputs: video files, image sequences, preview windows; every output is marked as synthetic."""
from nodes.output import video
from nodes.output import images
from nodes.output import virtualcam
from nodes.output import window

NODES = [*video.NODES, *images.NODES, *window.NODES, *virtualcam.NODES]
