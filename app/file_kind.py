"""What a file is, by its first bytes: a picture, clip or sound given where a preset (a JSON text) goes is
named for what it is, not refused as "not UTF-8 text (byte 0)"."""
from __future__ import annotations

HEAD_BYTES = 16  # what media_kind reads
# What the studio's readers take, by name: the editor's file pickers show these first (a path param's `files`)
IMAGE_FILES = ("Images", (".png", ".jpg", ".jpeg", ".heic", ".heif", ".webp", ".bmp", ".tif", ".tiff", ".gif"))
VIDEO_FILES = ("Videos", (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"))

_SIGNATURES = (  # (first bytes, what the file is)
    (b"\xff\xd8\xff", "an image (JPEG)"), (b"\x89PNG", "an image (PNG)"), (b"GIF8", "an image (GIF)"),
    (b"II*\x00", "an image (TIFF)"), (b"MM\x00*", "an image (TIFF)"),
    (b"\x00\x00\x00\x0cjP  ", "an image (JPEG 2000)"), (b"\x00\x00\x01\x00", "an image (ICO)"),
    (b"qoif", "an image (QOI)"), (b"DDS ", "an image (DDS)"), (b"P6\n", "an image (PPM)"), (b"P5\n", "an image (PGM)"),
    (b"\x1a\x45\xdf\xa3", "a video (MKV/WebM)"), (b"\x00\x00\x01\xba", "a video (MPEG)"), (b"FLV\x01", "a video (FLV)"),
    (b"OggS", "a sound or video file (Ogg)"), (b"fLaC", "a sound file (FLAC)"), (b"ID3", "a sound file (MP3)"),
    (b"\xff\xfb", "a sound file (MP3)"), (b"\xff\xf3", "a sound file (MP3)"),
)
_RIFF = {b"WEBP": "an image (WebP)", b"AVI ": "a video (AVI)", b"WAVE": "a sound file (WAV)"}
# ISO media (MP4, MOV, HEIC, AVIF, M4A) all say "ftyp" at byte 4, then their brand
_BRANDS = {b"heic": "an image (HEIC)", b"heix": "an image (HEIC)", b"hevc": "an image (HEIC)",
           b"mif1": "an image (HEIF)", b"msf1": "an image (HEIF)", b"avif": "an image (AVIF)",
           b"avis": "an image (AVIF)", b"M4A ": "a sound file (M4A)", b"M4B ": "a sound file (M4A)"}


def media_kind(head: bytes) -> str | None:
    """'an image (JPEG)', 'a video (MP4/MOV)', 'a sound file (MP3)'... by a file's first HEAD_BYTES; None for
    anything else."""
    if head[4:8] == b"ftyp":
        return _BRANDS.get(head[8:12], "a video (MP4/MOV)")
    if head[:4] == b"RIFF":
        return _RIFF.get(head[8:12])
    if head[:2] == b"BM" and head[6:10] == bytes(4):  # its size, then four reserved zero bytes
        return "an image (BMP)"
    return next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), None)


def not_a_preset(kind: str) -> str:
    """What to say of a media file given where a preset goes."""
    if kind.startswith("a sound"):
        return f"this is {kind}, not a preset: a preset is a JSON file (e.g. graphs/video_to_portrait.json)"
    return (f"this is {kind}, not a preset: open or run a preset (e.g. graphs/video_to_portrait.json) and set its "
            "portrait (target.path) or its driver (driver.path) to this file")
