"""Capture: where frames and motion come from (stills, video files, cameras, the built-in performer)."""
from nodes.capture import image
from nodes.capture import video
from nodes.capture import webcam
from nodes.capture import motion

NODES = [*image.NODES, *video.NODES, *webcam.NODES, *motion.NODES]
