"""Quality measurements behind `reenact score`: how well an output video follows the driver that drove
it (motion transfer, from re-tracking the output) and, for self-reenactment, how close it comes to the
real frames (PSNR, SSIM, L1) compared with a frozen-frame baseline."""
from app.quality.report import format_report
from app.quality.score import score

__all__ = ["format_report", "score"]
