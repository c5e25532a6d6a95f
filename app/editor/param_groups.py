"""Params grouped under headers (pose, expression, eyes, mouth, body, smoothing) for nodes with many
of them, by the words in their names; the schema's own order is kept inside each group."""
from __future__ import annotations

from app.runtime.schema import NodeSchema, Param

GROUP_FROM = 9  # nodes with fewer params show them as one list
# The first group whose words a param's name contains; order matters ("mouth_switch_cost" is mouth).
RULES = (
    ("mouth", ("mouth", "lip", "teeth", "jaw", "smile")),
    ("eyes", ("eye", "gaze", "lid", "iris", "blink")),
    ("expression", ("brow", "face_gain", "expression", "neutral", "calibration")),
    ("smoothing", ("smooth", "cutoff", "beta", "lost_", "switch", "hold", "fade", "ease")),
    ("body", ("body", "shoulder", "torso", "breath", "head_follow", "shift")),
    ("pose", ("yaw", "pitch", "roll", "translation", "scale", "reveal", "pose", "position")),
)
OTHER = "other"


def group_params(schema: NodeSchema) -> list[tuple[str | None, list[Param]]]:
    """[(group name, params)] in the order groups first appear; one unnamed group for small nodes.
    A body node's pose-like params (shoulder roll, scale) are its body group."""
    if len(schema.params) < GROUP_FROM:
        return [(None, list(schema.params))]
    groups: dict[str, list[Param]] = {}
    for param in schema.params:
        name = next((group for group, words in RULES if any(w in param.name for w in words)), OTHER)
        if schema.type_id.startswith("body.") and name in ("pose", "expression"):
            name = "body"
        groups.setdefault(name, []).append(param)
    return list(groups.items())
