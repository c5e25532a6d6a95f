"""argparse types shared by the `reenact` commands: each refuses bad text with a short reason."""
from __future__ import annotations

import argparse


def whole_number_from(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number of at least `minimum` (and at most `maximum`, where given)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value
    return parse


positive, non_negative = whole_number_from(1), whole_number_from(0)


def float_between(low: float, high: float, exclusive: bool = False):
    """An argparse type: a number in [low, high] (or (low, high)); NaN and infinity never pass."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not ((low < value < high) if exclusive else (low <= value <= high)):
            bounds = f"between {low:g} and {high:g}" + (" (exclusive)" if exclusive else "")
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse



def channels(text: str) -> tuple[int, ...]:
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of whole numbers") from None
    if not 1 <= len(channels) <= 6 or not all(1 <= c <= 512 for c in channels):
        raise argparse.ArgumentTypeError("1 to 6 levels of 1..512 channels, e.g. 16,32,64")
    return channels
