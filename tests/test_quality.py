"""Quality measurements (app.quality): image metrics against hand computations, motion-transfer metrics
on synthetic series with known answers, and real footage scored against itself (self-reenactment)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image as PILImage

from app.quality import format_report, score
from app.quality.features import FEATURES
from app.quality.image_metrics import PSNR_CAP_DB, face_box, l1, psnr, ssim
from app.quality.transfer import closed_eye_agreement, gain, jitter, narrow_eyes, pearson
from app.runtime.errors import ReenactError

REPO = Path(__file__).resolve().parents[1]
CLIP = Path(__file__).parent / "data" / "real" / "single_face.mp4"  # 640x360, 72 frames (see ORIGIN.md)
PORTRAIT = REPO / "assets" / "portraits" / "astronaut.png"
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's stabilising constants for data_range 255


# --- image metrics against hand computations ---------------------------------------------------------

def test_psnr_and_l1_by_hand():
    black = np.zeros((4, 4, 3), np.uint8)
    grey = np.full((4, 4, 3), 10, np.uint8)  # every difference 10: MSE 100
    assert psnr(black, grey) == pytest.approx(10 * math.log10(255 ** 2 / 100))
    assert l1(black, grey) == pytest.approx(10 / 255)
    assert psnr(black, black) == PSNR_CAP_DB  # infinite, capped
    assert l1(black, black) == 0.0


def _ssim_of_one_window(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two 7x7 images, whose only full 7x7 window is the whole image, per channel, averaged
    (sample variances and covariance, as skimage computes them by default)."""
    values = []
    for c in range(x.shape[2]):
        a, b = x[:, :, c].astype(np.float64).ravel(), y[:, :, c].astype(np.float64).ravel()
        cov = np.cov(a, b, ddof=1)
        values.append((2 * a.mean() * b.mean() + C1) * (2 * cov[0, 1] + C2)
                      / ((a.mean() ** 2 + b.mean() ** 2 + C1) * (cov[0, 0] + cov[1, 1] + C2)))
    return float(np.mean(values))


@pytest.mark.parametrize("change", ["brighter", "negative", "constant"])
def test_ssim_by_hand(change):
    x = np.random.default_rng(7).integers(40, 200, (7, 7, 3)).astype(np.uint8)
    y = {"brighter": x + 30, "negative": 255 - x, "constant": np.full_like(x, 90)}[change]
    assert ssim(x, y) == pytest.approx(_ssim_of_one_window(x, y), abs=1e-5)
    assert ssim(x, x) == pytest.approx(1.0)


def test_face_box_is_padded_and_clipped():
    points = np.array([[20.0, 30.0, 0.0], [120.0, 230.0, 5.0]])  # a 100 x 200 box
    assert face_box(points, 640, 360) == (10, 10, 130, 250)
    assert face_box(points, 125, 240) == (10, 10, 125, 240)
    assert face_box(points + [630.0, 0.0, 0.0], 640, 360) is None  # almost all outside: too thin


# --- motion-transfer metrics on synthetic series ------------------------------------------------------

def _driver_series() -> np.ndarray:
    return 0.3 + 0.2 * np.sin(np.linspace(0, 6, 60))


def test_half_as_much_motion_has_gain_one_half():
    driver = _driver_series()
    output = 0.5 * driver + 0.1  # an offset (another face at rest) does not change the gain
    assert pearson(driver, output) == pytest.approx(1.0)
    assert gain(driver, output) == pytest.approx(0.5)
    output[[3, 17]] = np.nan  # frames where the output has no face are left out
    driver[40] = np.nan
    assert gain(driver, output) == pytest.approx(0.5)
    assert pearson(driver, -output) == pytest.approx(-1.0)


def test_still_series_give_none_or_zero_not_nan():
    driver, still = _driver_series(), np.full(60, 0.2)
    assert pearson(still, driver) is None and gain(still, driver) is None  # nothing to follow
    assert pearson(driver, still) is None  # undefined, but...
    assert gain(driver, still) == 0.0  # ...the output clearly does not move
    assert pearson(driver[:2], driver[:2]) is None  # too few frames


def test_closed_eye_agreement():
    driver, output = np.full(50, 0.35), np.full(50, 0.30)
    driver[[10, 11, 30]] = 0.05  # three closed frames
    output[[10, 30]] = 0.04  # the output closes in two of them...
    output[45] = 0.03  # ...and once on its own
    result = closed_eye_agreement(driver, output)
    assert result == {"driver_closed_frames": 3, "output_closed_frames": 3, "agreement": pytest.approx(2 / 3)}
    assert closed_eye_agreement(np.full(50, 0.35), output)["agreement"] is None  # the driver never closes
    half_shut = np.full(50, 0.10)  # by its own level always open; by the target's, always closed
    assert closed_eye_agreement(driver, half_shut)["agreement"] == 0.0
    assert closed_eye_agreement(driver, half_shut, output_open_level=0.35)["agreement"] == 1.0


def test_a_target_whose_eyes_are_too_narrow_for_the_closed_threshold_gets_a_note():
    """three_quarter.jpg's eyes open 0.24 and 0.17 of their width: 0.35 of that is under the 0.08-0.10 the
    tracker reads for a shut eye, so its shut eyes counted as open (1% agreement, shut in the frames)."""
    target = np.zeros(len(FEATURES))
    target[FEATURES.index("right_eye_openness")], target[FEATURES.index("left_eye_openness")] = 0.39, 0.17
    notes = narrow_eyes(target)
    assert len(notes) == 1 and notes[0].startswith("the target's left eye is narrow (open 0.17 of its width)")



def test_a_target_in_glasses_gets_a_note_that_its_eyes_read_poorly(tmp_path):
    """Grace Hopper's renders shut their eyes with the driver's, yet re-tracked behind her glasses they never
    read shut: 0% agreement, reported without a word. The astronaut, without glasses, gets no such note."""
    driver = _write_video(tmp_path / "driver.mp4", [f[:352] for f in _clip_frames(6)])
    notes = {name: score(driver, driver, REPO / "assets" / "portraits" / name)["notes"]
             for name in ("grace_hopper.jpg", "astronaut.png")}
    assert [n for n in notes["grace_hopper.jpg"] if "glasses" in n] == [
        "the target wears glasses: the tracker reads the eyes behind them poorly, so the output's eye openness "
        "and shut-eye agreement read low; look at the frames (--sheet)"]
    assert not any("glasses" in n for n in notes["astronaut.png"])

def test_jitter_in_face_widths():
    face = np.zeros((478, 3))
    face[:, 0] = np.linspace(0, 200, 478)  # 200 px wide
    steady = [face + [t * 3.0, 0, 0] for t in range(6)]  # constant velocity: no second difference
    assert jitter(steady) == pytest.approx(0.0)
    shaking = [face + [(-1) ** t * 2.0, 0, 0] for t in range(6)]  # second difference of 8 px
    assert jitter(shaking) == pytest.approx(8 / 200)
    assert jitter([shaking[0], None, shaking[2], shaking[3]]) is None  # no three frames in a row


# --- real footage ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def self_vs_self() -> dict:
    """The clip scored against itself: a perfect self-reenactment (image metrics on every 12th frame)."""
    return score(CLIP, CLIP, self_reenactment=True, image_stride=12)


def test_the_clip_follows_itself(self_vs_self):
    assert self_vs_self["compared_frames"] == 72 and self_vs_self["notes"] == []
    assert self_vs_self["driver"]["frames_with_face"] == 72
    features = self_vs_self["motion"]["features"]
    assert set(features) == set(FEATURES)
    for name in ("mouth_opening", "right_eye_openness", "left_eye_openness", "smile_width", "head_yaw"):
        assert features[name]["correlation"] == pytest.approx(1.0, abs=1e-6), name
        assert features[name]["gain"] == pytest.approx(1.0, abs=1e-6), name
    for eye in self_vs_self["motion"]["closed_eyes"].values():  # the man blinks in the clip
        assert eye["driver_closed_frames"] > 0 and eye["agreement"] == 1.0
    assert self_vs_self["motion"]["jitter"]["ratio"] == pytest.approx(1.0)
    series = self_vs_self["motion"]["series"]  # per frame, so a reader can find the frames behind a number
    assert series["driver"] == series["output"] and len(series["driver"]["mouth_opening"]) == 72


def test_a_perfect_self_reenactment_beats_the_frozen_frame(self_vs_self):
    image = self_vs_self["image"]
    assert image["output"]["frames"] == 6 and image["output"]["face_frames"] == 6
    for region in ("whole", "face"):
        assert image["output"][region] == {"psnr": PSNR_CAP_DB, "ssim": pytest.approx(1.0), "l1": 0.0}
        frozen = image["frozen_baseline"][region]
        assert frozen["psnr"] < 40 and frozen["ssim"] < 0.9 and frozen["l1"] > 0.01


def test_the_result_is_json_and_reads_as_a_table(self_vs_self):
    json.dumps(self_vs_self, allow_nan=False)
    text = format_report(self_vs_self)
    assert "mouth opening" in text and "frozen frame face" in text and "nan" not in text.lower()


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 30) -> Path:
    height, width = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, quality=9)
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def _clip_frames(count: int) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(CLIP))
    width, height = next(reader)["size"]
    frames = [np.frombuffer(next(reader), np.uint8).reshape(height, width, 3) for _ in range(count)]
    reader.close()
    return frames


def test_a_shorter_smaller_output_is_compared_on_the_common_frames(tmp_path):
    frames = _clip_frames(12)
    driver = _write_video(tmp_path / "driver.mp4", frames)
    output = _write_video(tmp_path / "output.mp4", [f[::2, ::2] for f in frames[:9]])  # 320x180, 3 short
    result = score(driver, output, target_path=PORTRAIT, self_reenactment=True, image_stride=4)
    assert (result["driver"]["frames"], result["output"]["frames"], result["compared_frames"]) == (12, 9, 9)
    assert "the output is 0.10 s shorter (12 driver frames, 9 output frames)" in result["notes"][0]
    scaled_up = result["image"]["output"]["whole"]  # the half-size output, back at the real frames' size
    assert scaled_up["psnr"] > 30 and scaled_up["ssim"] > 0.8  # blurred by the halving, but in register
    assert result["target"]["features"]["right_eye_openness"] > 0.2
    json.dumps(result, allow_nan=False)


def test_an_output_at_another_rate_is_compared_with_the_driver_frame_shown_at_its_time(tmp_path):
    """A render written at 60 fps from a 30 fps driver holds each driver moment for two frames. Compared
    by count, its frame 20 met the driver's frame 20 (0.33 s later than it shows) and the self-reenactment
    looked ruined; each output frame now meets the driver frame shown at its time, in score and sheet."""
    from app.quality.sheet import CELL_HEIGHT, LABEL_HEIGHT, contact_sheet

    frames = [f[:352] for f in _clip_frames(12)]
    driver = _write_video(tmp_path / "driver.mp4", frames)
    output = _write_video(tmp_path / "output.mp4", [f for f in frames for _ in range(2)], fps=60)
    result = score(driver, output, self_reenactment=True, image_stride=1)
    assert (result["driver"]["frames"], result["output"]["frames"], result["compared_frames"]) == (12, 24, 24)
    assert result["image"]["output"]["whole"]["psnr"] > 35 and "each output frame is compared" in result["notes"][0]
    sheet = np.asarray(PILImage.open(contact_sheet([("driver", driver), ("output", output)],
                                                   tmp_path / "sheet.png", rows=4))).astype(int)
    width = sheet.shape[1] // 2
    for row in range(4):
        top = LABEL_HEIGHT + row * CELL_HEIGHT + 30  # under the frame label
        assert np.abs(sheet[top:top + CELL_HEIGHT - 30, :width] - sheet[top:top + CELL_HEIGHT - 30, width:]).mean() < 3


def test_an_output_upside_down_is_tracked_upright(tmp_path):
    """A portrait upside down renders upside down. MediaPipe tracked such frames as they were, badly (the
    upside-down astronaut's landmarks 50 px off): the clip against itself upside down scored a mouth
    correlation of -0.11. The output tracker now turns its frames as its first face needs."""
    frames = _clip_frames(48)
    driver = _write_video(tmp_path / "driver.mp4", frames)
    output = _write_video(tmp_path / "output.mp4", [np.ascontiguousarray(f[::-1, ::-1]) for f in frames])
    features = score(driver, output)["motion"]["features"]
    for name in ("mouth_opening", "smile_width", "right_eye_openness", "left_eye_openness"):
        assert features[name]["correlation"] > 0.95 and features[name]["gain"] == pytest.approx(1.0, abs=0.1), name


def test_bad_inputs_are_reported_plainly(tmp_path):
    with pytest.raises(ReenactError, match="no such file"):
        score(tmp_path / "missing.mp4", CLIP)
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("not a video")
    with pytest.raises(ReenactError, match="cannot read the video"):
        score(CLIP, not_a_video)
    blank = _write_video(tmp_path / "blank.mp4", [np.full((64, 64, 3), 128, np.uint8)] * 4)
    with pytest.raises(ReenactError, match="no face found in any of the 4 frames") as caught:
        score(blank, blank)
    assert caught.value.where == str(blank)
    faceless_portrait = tmp_path / "grey.png"
    PILImage.new("RGB", (64, 64), (128, 128, 128)).save(faceless_portrait)
    with pytest.raises(ReenactError, match="no face found in the target"):
        score(CLIP, CLIP, target_path=faceless_portrait)


def test_the_score_command_writes_a_report_and_refuses_bad_input_clearly(tmp_path, capsys):
    from app.cli import main

    report = tmp_path / "score.json"
    assert main(["score", str(CLIP), str(CLIP), "--self", "--image-stride", "24", "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "Motion transfer" in printed and "Self-reenactment" in printed
    assert json.loads(report.read_text())["compared_frames"] == 72
    assert main(["score", str(tmp_path / "missing.mp4"), str(CLIP)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "missing.mp4" in err and "Traceback" not in err


def test_the_sheet_shows_driver_output_and_the_target_as_it_is(tmp_path):
    """`--sheet` with `--target`: three columns, the portrait repeated in every row beside the output."""
    from app.cli import main
    from app.quality.sheet import CELL_HEIGHT, LABEL_HEIGHT

    frames = [f[:352] for f in _clip_frames(6)]  # a height the encoder keeps (a multiple of 16)
    driver = _write_video(tmp_path / "driver.mp4", frames)
    output = _write_video(tmp_path / "output.mp4", [255 - f for f in frames])
    sheet = tmp_path / "sheet.png"
    assert main(["score", str(driver), str(output), "--target", str(PORTRAIT), "--sheet", str(sheet),
                 "--sheet-rows", "2"]) == 0
    pixels = np.asarray(PILImage.open(sheet).convert("RGB")).astype(int)
    clip_width = round(640 * CELL_HEIGHT / 352)
    assert pixels.shape == (LABEL_HEIGHT + 2 * CELL_HEIGHT, 2 * clip_width + CELL_HEIGHT, 3)  # the portrait is square
    portrait = np.asarray(PILImage.open(PORTRAIT).convert("RGB").resize((CELL_HEIGHT, CELL_HEIGHT))).astype(int)
    for row in range(2):
        top = LABEL_HEIGHT + row * CELL_HEIGHT
        cell = pixels[top:top + CELL_HEIGHT, 2 * clip_width:]
        assert np.abs(cell - portrait)[30:].mean() < 6  # the same picture in every row (under the frame label)
        driver_cell = pixels[top + 30:top + CELL_HEIGHT, :clip_width]
        output_cell = pixels[top + 30:top + CELL_HEIGHT, clip_width:2 * clip_width]
        assert np.abs(driver_cell + output_cell - 255).mean() < 12  # the output column is the output


def test_a_variable_rate_driver_is_said_to_count_some_of_its_frames_more_than_once():
    """72 frames over 7 s under a 23.976 fps header (a phone's clip): compared at the output's 166 frames'
    times, "right eye closed in 87 driver frames" read as a count of the driver's own 72."""
    from types import SimpleNamespace

    from app.quality.score import _notes

    driver = SimpleNamespace(end=7.01, fps=23.976, size=(640, 360), path="d.mp4")
    output = SimpleNamespace(end=6.93, fps=23.976, size=(512, 512), path="o.mp4")
    assert any("not evenly spaced (72 over 7.01 s" in note and "more than once" in note
               for note in _notes(driver, output, 72, 166))
    steady = SimpleNamespace(end=72 / 23.976, fps=23.976, size=(640, 360), path="d.mp4")
    assert not any("evenly" in note for note in _notes(steady, steady, 72, 72))
