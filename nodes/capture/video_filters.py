"""The ffmpeg filters a clip is read through, and what on its header calls for them: deinterlacing,
square pixels, a size cap and HDR tone mapping (`VideoReader` chains them)."""
from __future__ import annotations

import re

# An HDR clip (a phone's default: HLG or PQ in BT.2020) read as it is came out dim, flat and washed out
# (24 levels off on average; a face's colours are what a target video shows). Taken into linear light with
# HDR reference white (203 nits) as SDR white, into BT.709's primaries, then highlights above 0.7 eased
# under white (Mobius) where SDR would clip them; in SDR's range it is nearly the identity (2.8 levels
# off, the round trip's coding loss). 17 ms a 1080p frame on one core, in ffmpeg's own process.
TONE_MAP = ("zscale=tin={transfer}:min={matrix}:pin={primaries}:t=linear:p={primaries}:npl=203,format=gbrpf32le,"
            "zscale=p=bt709,tonemap=tonemap=mobius:param=0.7:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv444p")
# the matrix, primaries and transfer in "yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive)"
HDR = re.compile(r"([\w-]+)/([\w-]+)/(smpte2084|arib-std-b67)\b")


def tone_map(matrix: str, primaries: str, transfer: str) -> str:
    """TONE_MAP for a clip's colours as its header names them: zscale finds no way from colours left
    unknown, so those are taken as HDR's (BT.2020)."""
    return TONE_MAP.format(transfer=transfer, matrix=matrix if matrix != "unknown" else "bt2020nc",
                           primaries=primaries if primaries != "unknown" else "bt2020")


# A camcorder's or a TV recording's interlaced frames hold two fields a field apart: read as they are, every
# moving edge (a turning face, its lips) was combed. Deinterlaced a frame for a frame (the frames keep their
# times). Every frame, not only those flagged: HEVC's decoder flags none, though the header says interlaced.
DEINTERLACE = "bwdif=mode=send_frame:deint=all"
DEINTERLACED, TONE_MAPPED = "deinterlaced", "tone-mapped from HDR"  # the fixes, by what they do
INTERLACED = re.compile(r"\b(?:top|bottom)(?: coded)? first\b")  # the field order in "yuv420p(tv, top first)"
# a camcorder's or an anamorphic clip's pixels are not square (its sample aspect ratio says how wide each is):
# widened to what a player shows, or its faces were tracked squeezed; square pixels pass through as they are
SQUARE_PIXELS = "scale=w='if(gt(sar,0),max(1,round(iw*sar)),iw)':h=ih"
# A phone's 4K clip, read whole, ran the chain at 21.6 fps where its 1080p copy ran at 41 (the render uploads
# the driver's frame, 33 MB at 4K, each frame): frames larger than max_side are scaled down by ffmpeg,
# before any tone mapping, which then has a quarter of the pixels to do
FIT = ("scale=w='if(gt(max(iw,ih),{side}),max(1,round(iw*{side}/max(iw,ih))),iw)'"
       ":h='if(gt(max(iw,ih),{side}),max(1,round(ih*{side}/max(iw,ih))),ih)':flags=area")
STORED_SIZE = re.compile(r", (\d+)x(\d+)\b")  # the frames' size on the stream's header line
