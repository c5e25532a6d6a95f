"""Image operations."""
from nodes.image import resize

NODES = [*resize.NODES]
