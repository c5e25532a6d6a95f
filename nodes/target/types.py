"""The FrameBank port type: a target video tracked once (see bank.FrameBank)."""
from __future__ import annotations

from app.runtime.ports import PortType
from nodes.target.bank import FrameBank

FRAME_BANK = PortType("FrameBank", (FrameBank,), (0, 114, 178), FrameBank.summary)
