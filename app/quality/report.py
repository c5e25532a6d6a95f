"""format_report(): a score() result as a plain-text table for a terminal."""
from __future__ import annotations

MISSING = "-"  # a value that does not exist (a feature the driver never moves, no closed eyes...)
IMAGE_COLUMNS = (("psnr", "PSNR dB", 2), ("ssim", "SSIM", 4), ("l1", "L1", 4))  # metric, heading, digits


def _number(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _videos(result: dict) -> list[str]:
    lines = [f"{role:<8}{v['path']}  {v['frames']} frames, {v['fps']:g} fps, face in {v['frames_with_face']}"
             for role, v in (("driver", result["driver"]), ("output", result["output"]))]
    if result["target"] is not None:
        lines.append(f"{'target':<8}{result['target']['path']}")
    lines.append(f"compared {result['compared_frames']} frames")
    lines += [f"note: {note}" for note in result["notes"]]
    return lines


def _motion(motion: dict) -> list[str]:
    lines = [f"Motion transfer ({motion['frames_with_both_faces']} frames with a face in both)",
             f"  {'feature':<22}{'correlation':>12}{'gain':>8}"]
    for name, values in motion["features"].items():
        correlation, gain = _number(values["correlation"]), _number(values["gain"])
        lines.append(f"  {name.replace('_', ' '):<22}{correlation:>12}{gain:>8}")
    for side, eye in motion["closed_eyes"].items():
        followed = "" if eye["agreement"] is None else f", {eye['agreement']:.0%} followed by the output"
        lines.append(f"  {side} eye closed in the driver at {eye['driver_closed_frames']} of the frames compared"
                     f"{followed} (the output's at {eye['output_closed_frames']})")
    jitter = motion["jitter"]
    lines.append(f"  jitter (face widths per frame^2): driver {_number(jitter['driver'], 5)}, "
                 f"output {_number(jitter['output'], 5)}, ratio {_number(jitter['ratio'], 2)}")
    return lines


def _image(image: dict) -> list[str]:
    lines = [f"Self-reenactment ({image['output']['frames']} frames scored; PSNR capped at "
             f"{image['psnr_cap_db']:g} dB)",
             f"  {'':<20}" + "".join(f"{heading:>9}" for _, heading, _ in IMAGE_COLUMNS)]
    for label, key in (("output", "output"), ("frozen frame", "frozen_baseline")):
        for region in ("whole", "face"):
            values = image[key][region]
            row = "".join(f"{_number(values[metric], digits):>9}" for metric, _, digits in IMAGE_COLUMNS)
            lines.append(f"  {label + ' ' + region:<20}{row}")
    return lines


def format_report(result: dict) -> str:
    """The result of app.quality.score.score() as lines of text (no colour, no trailing newline)."""
    sections = [_videos(result), _motion(result["motion"])]
    if result["image"] is not None:
        sections.append(_image(result["image"]))
    return "\n\n".join("\n".join(lines) for lines in sections)
