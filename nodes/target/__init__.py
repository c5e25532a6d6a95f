"""Target video: a clip of the target person tracked once into a frame bank (target.video), and the
recorded frame chosen per frame by pose and expression (target.select), HeadOn's view- and
pose-dependent texturing with Face2Face's mouth retrieval.
"""
from nodes.target import select, video

NODES = [*video.NODES, *select.NODES]
