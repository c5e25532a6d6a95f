"""Patch-based completion (Wexler, Shechtman and Irani 2007, with PatchMatch's search) of the strip of a
hole next to the room: coarse to fine, every patch that touches the strip is matched to a patch of the
room nearby, and each strip pixel becomes the weighted vote of the matched patches over it. A room's
texture and lines (a flag's stars and stripes, a door's panels) go on into the strip a moved head
uncovers, where a smooth fill reads as a smudge; voting keeps them coherent where copying patch by patch
repeats one piece of edge down the strip."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from nodes.render.ramps import smoothstep

PATCH = 7  # pixels, odd, at every level
LEVELS = 3  # the working size, halved, quartered: structure is found coarse and refined fine
ROUNDS = 2  # match-then-vote rounds at each level (4 looked the same, at 1.6x the time)
SEARCH = 0.16  # of the longest side: how far from a strip pixel its patch is looked for (the room beside it)
GUIDE = 1.0  # how much a strip pixel's smooth fill (the room's shading carried in) counts in its match:
# a source patch's mean over the strip is held to the fill's, so texture is free but shading is kept
EASE = 0.4  # of the strip's depth: over its last part the completion eases into the hole's own fill
TEXTURE = (3.0, 6.0)  # 0..255: the room's fine detail (mean deviation from its blur) from which it is carried on
CHOICE = (0.03, 0.08)  # share of the search square that is room to choose patches from, from which it is used
OFFSETS = np.array([(dy, dx) for dy in range(-(PATCH // 2), PATCH // 2 + 1)
                    for dx in range(-(PATCH // 2), PATCH // 2 + 1)])


@dataclass(frozen=True)
class Completion:
    """A strip completed at the working size. image: (h, w, 3) uint8, the given fill with the completion
    eased in; share: (h, w) float32, how much of each pixel is the completion; shift: (h, w, 2) float32,
    at each matched patch's centre the way (y, x) to its source patch, NaN elsewhere; trust: (h, w)
    float32, how much each matched patch's vote counts."""

    image: np.ndarray
    share: np.ndarray
    shift: np.ndarray
    trust: np.ndarray

    def at_size(self, rgb: np.ndarray, hole: np.ndarray, fill: np.ndarray) -> np.ndarray:
        """(H, W, 3) float32: `fill` (the working size's fill, resized to `rgb`) with the completion eased
        in, voted at the portrait's own size from its own pixels (`rgb`, (H, W, 3), the room where `hole`,
        (H, W) bool, is not): each matched patch's way to its source, scaled up, so the texture carried
        on is as sharp as the room beside it rather than the working size's, scaled up."""
        height, width = hole.shape
        share = cv2.resize(self.share, (width, height), interpolation=cv2.INTER_LINEAR)
        ys, xs = np.nonzero((share > 0) & hole)
        out = fill.astype(np.float32).copy()
        if ys.size == 0:
            return out
        scale = np.array(self.share.shape, np.float64) / (height, width)  # full pixels to working ones
        near_y = np.round((ys + 0.5) * scale[0] - 0.5).astype(np.int64)
        near_x = np.round((xs + 0.5) * scale[1] - 0.5).astype(np.int64)
        total = np.zeros((ys.size, 3), np.float32)
        weight = np.zeros(ys.size, np.float32)
        # every patch over a pixel votes: with only every third one each way (a fifth of the cost, 1.2 s less at
        # 2048 px) the working size's pixels showed as a mosaic of 2-3 px tiles where the matches disagree
        for dy, dx in OFFSETS:
            ty = np.clip(near_y + dy, 0, self.share.shape[0] - 1)
            tx = np.clip(near_x + dx, 0, self.share.shape[1] - 1)
            way = self.shift[ty, tx]
            sy = np.round(ys + np.nan_to_num(way[:, 0]) / scale[0]).astype(np.int64)
            sx = np.round(xs + np.nan_to_num(way[:, 1]) / scale[1]).astype(np.int64)
            inside = (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
            sy, sx = np.clip(sy, 0, height - 1), np.clip(sx, 0, width - 1)
            votes = self.trust[ty, tx] * (~np.isnan(way[:, 0]) & inside & ~hole[sy, sx])
            total += votes[:, None] * rgb[sy, sx, :3]
            weight += votes
        small = cv2.resize(self.image, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        carried = np.where(weight[:, None] > 0, total / np.maximum(weight, 1e-6)[:, None], small[ys, xs])
        out[ys, xs] = out[ys, xs] * (1.0 - share[ys, xs, None]) + carried * share[ys, xs, None]
        return out


def patch_completion(rgb: np.ndarray, hole: np.ndarray, depth: float) -> Completion:
    """`rgb` ((H, W, 3) uint8, its hole already given a smooth fill, which guides the shading) with the
    pixels of `hole` ((H, W) bool) within `depth` pixels of the room completed from the room's own
    patches, and the matches that carry the completion up to a larger size (`Completion.at_size`). The
    hole's pixels deeper in keep their fill and play no part in the matching."""
    height, width = hole.shape
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    strip = hole & (inside <= depth)
    nothing = Completion(rgb[:, :, :3].copy(), np.zeros((height, width), np.float32),
                         np.full((height, width, 2), np.nan, np.float32), np.zeros((height, width), np.float32))
    if not strip.any() or hole.all():
        return nothing
    search = SEARCH * max(hole.shape)
    pyramid = [(rgb[:, :, :3].astype(np.float32), hole, strip)]
    for _ in range(LEVELS - 1):
        image, level_hole, level_strip = pyramid[-1]
        if min(level_hole.shape) < 4 * PATCH:
            break
        size = ((level_hole.shape[1] + 1) // 2, (level_hole.shape[0] + 1) // 2)
        pyramid.append((cv2.resize(image, size, interpolation=cv2.INTER_AREA),
                        cv2.resize(level_hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0,
                        cv2.resize(level_strip.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0))
    rng = np.random.default_rng(0)
    coarser = None
    for level in range(len(pyramid) - 1, -1, -1):
        image, level_hole, level_strip = pyramid[level]
        coarser = _Level(image, level_hole, level_strip, search / 2 ** level, rng).completed(coarser)
    completed, matches = coarser
    if matches is None:
        return nothing
    fill = rgb[:, :, :3].astype(np.float32)
    # eased into the hole's own fill over the strip's last part, so no edge shows where the strip ends;
    # and only beside a room with texture to carry on: beside a plain wall the smooth fill, which follows
    # it along each row, is the safer guess (a completion there can carry a grey wall in beside a blue board)
    # and only with room enough around to choose from: a strip beside a sliver of room (a person cut by
    # the frame's edge) repeated one piece of it in a grid
    eased = 1.0 - smoothstep((1.0 - EASE) * depth, depth, inside)
    share = eased * smoothstep(*TEXTURE, _texture_near(fill, hole)) * smoothstep(*CHOICE, _choice(hole, search))
    share = (share * strip).astype(np.float32)
    image = fill * (1.0 - share[:, :, None]) + completed * share[:, :, None]
    return Completion(np.clip(image.round(), 0, 255).astype(np.uint8), share, *matches.dense((height, width)))


def _choice(hole: np.ndarray, search: float) -> np.ndarray:
    """(H, W) float32: the share of the square within `search` of each pixel that holds whole patches of
    the room, the sources its patch is chosen from."""
    source = cv2.erode((~hole).astype(np.uint8), np.ones((PATCH, PATCH), np.uint8), borderType=cv2.BORDER_CONSTANT,
                       borderValue=0).astype(np.float32)  # a patch past the frame's edge is no source
    side = 2 * round(search) + 1
    return cv2.boxFilter(source, -1, (side, side), borderType=cv2.BORDER_CONSTANT)


def _texture_near(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(H, W) float32: how much fine detail the room has near each pixel (mean absolute difference
    from its own blur, 0..255), spread from the room into the hole."""
    room = (~hole).astype(np.float32)
    detail = np.abs(image - cv2.GaussianBlur(image, (0, 0), 1.5)).mean(axis=2) * room
    reach = 2.0 * PATCH
    return cv2.GaussianBlur(detail, (0, 0), reach) / np.maximum(cv2.GaussianBlur(room, (0, 0), reach), 1e-3)


@dataclass(frozen=True)
class _Matches:
    """Matched patches at one level, in its padded pixels: target centres (ty, tx), their source centres
    (sy, sx) and how much each one's vote counts (trust)."""

    ty: np.ndarray
    tx: np.ndarray
    sy: np.ndarray
    sx: np.ndarray
    trust: np.ndarray

    def dense(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(shift (h, w, 2), trust (h, w)) over the level's own pixels, as `Completion` holds them."""
        radius = PATCH // 2
        shift = np.full((*shape, 2), np.nan, np.float32)
        trust = np.zeros(shape, np.float32)
        y, x = self.ty - radius, self.tx - radius
        shift[y, x, 0], shift[y, x, 1] = self.sy - self.ty, self.sx - self.tx
        trust[y, x] = self.trust
        return shift, trust


class _Level:
    """One pyramid level: the image (padded by half a patch), where patches may come from (`source`:
    centres whose whole patch is the room's), which patches are matched (`targets`: those touching the
    strip) and which of their pixels count (the room and the strip, not the hole's deep inside)."""

    def __init__(self, image, hole, strip, search, rng):
        radius = PATCH // 2
        self.shape = hole.shape
        self.image = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
        self.guide = self.image.copy()
        self.strip = np.pad(strip, radius)
        room = np.pad(~hole, radius)
        framed = np.zeros_like(room)
        framed[radius:-radius, radius:-radius] = True
        self.counts = ((room | self.strip) & framed).astype(np.float32)
        self.source = cv2.erode((room & framed).astype(np.uint8), np.ones((PATCH, PATCH), np.uint8)) > 0
        touching = cv2.dilate(self.strip.astype(np.uint8), np.ones((PATCH, PATCH), np.uint8)) > 0
        self.ty, self.tx = np.nonzero(touching & framed)
        self.search = max(2.0, search)
        self.rng = rng
        self.spread = OFFSETS[:, 0] * self.image.shape[1] + OFFSETS[:, 1]  # a patch's pixels, as flat offsets
        self.usable = self.source.any() and self.ty.size > 0
        if self.usable:
            self._find_nearest_sources()

    def _find_nearest_sources(self) -> None:
        # the nearest source centre of every pixel, to start from and to bring stray guesses back to
        _, labels = cv2.distanceTransformWithLabels((~self.source).astype(np.uint8), cv2.DIST_L2, 3,
                                                    labelType=cv2.DIST_LABEL_PIXEL)
        sy, sx = np.nonzero(self.source)
        order = labels[sy, sx]
        self.nearest_y = np.zeros(order.max() + 1, np.int64)
        self.nearest_x = np.zeros(order.max() + 1, np.int64)
        self.nearest_y[order], self.nearest_x[order] = sy, sx
        self.labels = labels

    def completed(self, coarser) -> tuple[np.ndarray, _Matches | None]:
        """The level's image with its strip completed, and its matches (target → source centres), which
        the next finer level starts from."""
        radius = PATCH // 2
        if not self.usable:
            return self.image[radius:-radius, radius:-radius], None
        if coarser is not None:  # the strip as the coarser level completed it, to refine
            inner, strip = self.image[radius:-radius, radius:-radius], self.strip[radius:-radius, radius:-radius]
            inner[strip] = cv2.resize(coarser[0], self.shape[::-1], interpolation=cv2.INTER_LINEAR)[strip]
        sy, sx = self._start(coarser)
        self._look()
        cost = self._cost(sy, sx)
        for _ in range(ROUNDS):
            sy, sx, cost = self._matched(sy, sx, cost)
            self._vote(sy, sx, _trust(cost))
            self._look()
            cost = self._cost(sy, sx)
        return self.image[radius:-radius, radius:-radius], _Matches(self.ty, self.tx, sy, sx, _trust(cost))

    def _start(self, coarser):
        """Matches to start from: the coarser level's, doubled, where there is one; else each target's
        nearest source patch (the room just beside it)."""
        sy, sx = self.ty.copy(), self.tx.copy()
        if coarser is not None and coarser[1] is not None:
            radius = PATCH // 2
            cty, ctx, csy, csx = coarser[1].ty, coarser[1].tx, coarser[1].sy, coarser[1].sx
            lookup_y = np.full((self.image.shape[0] // 2 + PATCH, self.image.shape[1] // 2 + PATCH), -1, np.int64)
            lookup_x = lookup_y.copy()
            lookup_y[cty - radius, ctx - radius], lookup_x[cty - radius, ctx - radius] = csy - radius, csx - radius
            fy, fx = (self.ty - radius) // 2, (self.tx - radius) // 2
            found = lookup_y[fy, fx] >= 0
            sy[found] = 2 * lookup_y[fy, fx][found] + (self.ty - radius)[found] % 2 + radius
            sx[found] = 2 * lookup_x[fy, fx][found] + (self.tx - radius)[found] % 2 + radius
        return self._valid(sy, sx)

    def _valid(self, sy, sx):
        """Candidate centres clipped into the image and moved to the nearest source centre where they
        are not one."""
        sy = np.clip(sy, 0, self.source.shape[0] - 1)
        sx = np.clip(sx, 0, self.source.shape[1] - 1)
        label = self.labels[sy, sx]
        return self.nearest_y[label], self.nearest_x[label]

    def _look(self) -> None:
        """Take the target patches as the image has them now (the strip changes with each vote)."""
        targets = (self.ty * self.image.shape[1] + self.tx)[:, None] + self.spread
        self.target_patches = self.image.reshape(-1, 3)[targets]
        self.target_counts = self.counts.reshape(-1)[targets]
        in_strip = self.strip.reshape(-1)[targets].astype(np.float32)
        self.strip_share = in_strip / np.maximum(in_strip.sum(axis=1, keepdims=True), 1.0)
        self.guide_mean = np.einsum("ij,ijc->ic", self.strip_share, self.guide.reshape(-1, 3)[targets])
        self.guide_weight = GUIDE * in_strip.sum(axis=1)
        self.target_weight = np.maximum(self.target_counts.sum(axis=1) + self.guide_weight, 1.0)

    def _cost(self, sy, sx, which=slice(None)) -> np.ndarray:
        """Mean squared colour difference between the target patches (`which` of them) and their source
        patches centred at (sy, sx), over the target pixels that count."""
        sources = (sy * self.image.shape[1] + sx)[:, None] + self.spread
        source_patches = self.image.reshape(-1, 3)[sources]
        difference = self.target_patches[which] - source_patches
        total = np.einsum("ij,ijc,ijc->i", self.target_counts[which], difference, difference)
        shade = self.guide_mean[which] - np.einsum("ij,ijc->ic", self.strip_share[which], source_patches)
        total += self.guide_weight[which] * np.einsum("ic,ic->i", shade, shade)
        return total / self.target_weight[which]

    def _matched(self, sy, sx, cost):
        """One PatchMatch pass: each target tries its neighbours' matches shifted by one (good matches
        spread along the room's lines), then random guesses nearer and nearer its own; kept when better
        and within the search radius."""
        index = np.full(self.image.shape[:2], -1, np.int64)
        index[self.ty, self.tx] = np.arange(self.ty.size)
        candidates = []
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            neighbour = index[self.ty - dy, self.tx - dx]  # targets lie half a patch inside the padding
            has = neighbour >= 0
            candidates.append((np.where(has, sy[neighbour] + dy, sy), np.where(has, sx[neighbour] + dx, sx)))
        reach = self.search
        while reach >= 1.0:
            jump = self.rng.uniform(-reach, reach, size=(2, self.ty.size))
            candidates.append(((sy + jump[0]).round().astype(np.int64), (sx + jump[1]).round().astype(np.int64)))
            reach /= 2
        for cy, cx in candidates:
            cy, cx = self._valid(cy, cx)
            tried = np.flatnonzero(((cy != sy) | (cx != sx)) & (np.hypot(cy - self.ty, cx - self.tx) <= self.search))
            tried_cost = self._cost(cy[tried], cx[tried], tried)
            improves = tried_cost < cost[tried]
            better = tried[improves]
            sy[better], sx[better], cost[better] = cy[better], cx[better], tried_cost[improves]
        return sy, sx, cost

    def _vote(self, sy, sx, trust) -> None:
        """Each strip pixel becomes the mean of what the source patches over it say, the better matched
        weighing more."""
        total = np.zeros_like(self.image)
        weight = np.zeros(self.image.shape[:2], np.float32)
        for dy, dx in OFFSETS:
            y, x = self.ty + dy, self.tx + dx
            total[y, x] += trust[:, None] * self.image[sy + dy, sx + dx]
            weight[y, x] += trust
        voted = self.strip & (weight > 0)
        self.image[voted] = total[voted] / weight[voted][:, None]


def _trust(cost: np.ndarray) -> np.ndarray:
    """How much each matched patch's vote counts: less the worse it matched, against the level's spread."""
    spread = max(float(np.percentile(cost, 75)), 1.0)
    return np.exp(-cost / (2 * spread)).astype(np.float32)
