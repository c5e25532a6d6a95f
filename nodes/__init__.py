"""Node families. Each public module exports `NODES = [...]`; modules starting with `_` are helpers."""
