"""Reenact Studio: a real-time portrait reenactment studio built as a node graph."""
