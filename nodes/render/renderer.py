"""The GL side of the portrait render: one portrait's textures, programs and buffers (moderngl), and the
face box drawn multisampled over a background drawn once."""
from __future__ import annotations

import cv2
import moderngl
import numpy as np

from app.runtime.gpu.bridge import ReadbackBridge
from app.runtime.gpu.image import Image
from nodes.render.lip_colour import AS_IT_IS, MouthColour
from nodes.render.plate import PersonAndPlate
from nodes.render.warp_mesh import WarpMesh, room_from

# Multisampling costs llvmpipe about as much as the rest of the render (6 of 12 ms at 512²), yet only the
# face has edges to smooth: face and background meet on shared vertices, so the background's pixels come
# out the same with one sample as with four. The background is drawn once over the frame with one sample,
# and the box around the face again, multisampled, under the face layers.
FACE_BOX_STEP = 32  # pixels: the face box's buffers grow and shrink in steps of this, so they are rarely re-made
FACE_BOX_MARGIN = 2  # pixels around the face's geometry: its smoothed edge


class PortraitRenderer:
    """GL state for drawing one portrait: its textures, a program and vertex buffer per kind of layer
    (the background's lean, the face's full), and a multisampled target with depth for the face's box.

    render(...) -> an Image on a pooled RGBA8 texture of the run's context (nothing is read back here).
    Every method makes its own context current: another context (a preview window, another run) may
    be current on this thread.
    """

    def __init__(self, gpu, samples: int, resampling: str = "auto"):
        """resampling: where the portrait is read by a cubic where it moved (sharp_sample.glsl): "cubic"
        everywhere, "face" in the face's layers alone, "bilinear" nowhere; "auto": "cubic" on a GPU, "face"
        in software GL (render.portrait's param; a refiner's training pairs are drawn as the node draws)."""
        self._gpu, self._samples = gpu, samples
        if resampling == "auto":
            resampling = "face" if gpu.software else "cubic"
        face, around = resampling != "bilinear", resampling == "cubic"
        # (portrait RGBA with the person mask as alpha, the room behind the person, the person carried past
        # their silhouette, the backdrop: the portrait with what may give way to the room as alpha, how firmly
        # the room the portrait shows stays put)
        self._textures: tuple = ()
        self._room_frame = None  # a framebuffer on the room's texture, which each frame starts as a copy of
        self._texture_source: tuple = (None, None, None, None)  # (portrait, plate, cover, output size)
        # (size, (colour, depth) renderbuffers, their framebuffer, the resolved texture, its framebuffer)
        self._box: tuple | None = None
        with gpu.current():
            self._background = self._layer("background", "2f 1f 2f", ("in_pos", "in_depth", "in_uv"), sharp=around)
            self._still = self._layer("background", "2f 1f 2f", ("in_pos", "in_depth", "in_uv"),
                                      defines=("STILL",), vbo=self._background[1], sharp=around)
            self._unmoved = self._layer("background", "2f 1f 2f", ("in_pos", "in_depth", "in_uv"),
                                        defines=("STILL",), vbo=self._background[1])
            self._room = self._layer("background", "2f 1f 8x", ("in_pos", "in_depth"), defines=("ROOM",),
                                     vbo=self._background[1])
            for program, _, _ in (self._background, self._still, self._unmoved):
                _set_uniforms(program, portrait=4, room_stays=5)  # as _render binds them
            inputs = ("in_pos", "in_depth", "in_uv", "in_st", "in_layer")
            # skin reads only positions and uvs; a turned portrait's skin its counterparts' uvs too (edges.py)
            self._skin = self._layer("warp", "2f 1f 2f 12x", inputs[:3], defines=("TEXTURED_ONLY",), sharp=face)
            self._turned_skin = self._layer("warp", "2f 1f 2f 2f 1f", inputs, defines=("TEXTURED_ONLY", "TURNED"),
                                            vbo=self._skin[1], sharp=face)
            self._features = self._layer("warp", "2f 1f 2f 2f 1f", inputs, vbo=self._skin[1], sharp=face)
            self._compose = gpu.program("blit", "face_box")
            self._compose["box"], self._compose["scale"] = 0, (1.0, 1.0)  # texture unit 0, the whole viewport
            self._compose_vao = gpu.ctx.vertex_array(self._compose, [])

    def _layer(self, shaders: str, layout: str, names: tuple[str, ...], defines: tuple[str, ...] = (),
               vbo=None, sharp: bool = False) -> tuple:
        """(program, vertex buffer, vertex array) for one kind of layer; `vbo`: one shared with another;
        `sharp`: the portrait read by a cubic."""
        program = self._gpu.program(shaders, shaders, defines + (("SHARP",) if sharp else ()))
        _set_uniforms(program, portrait=0, driver=1, plate=2, extended=3)  # texture units, as _render binds them
        vbo = vbo or self._gpu.ctx.buffer(reserve=1 << 20, dynamic=True)
        return program, vbo, self._gpu.ctx.vertex_array(program, [(vbo, layout, *names)])

    def _portrait_textures(self, image: Image, plate: PersonAndPlate | None, cover: np.ndarray,
                           out_size: tuple[int, int]) -> tuple:
        """Uploaded once per portrait and output size, not once per frame. Without a plate the person
        mask is 1 everywhere: the whole portrait moves with the mesh. The backdrop's alpha is the person
        less the face's cover outside its outline, so the background reads it in one texture fetch, not
        two (llvmpipe's cost a pixel is about its fetches)."""
        made_for = self._texture_source
        if any(old is not new for old, new in zip(made_for[:3], (image, plate, cover))) or made_for[3] != out_size:
            self._release_textures()
            rgb = image.rgb()
            mask = np.full(rgb.shape[:2], 255, np.uint8) if plate is None else plate.mask_bytes()
            held = (mask.astype(np.uint16) * (255 - cover) // 255).astype(np.uint8)
            room = np.dstack([rgb if plate is None else plate.plate, np.full_like(mask, 255)])
            stays = np.zeros_like(mask) if plate is None else plate.stays
            self._textures = (self._texture(np.dstack([rgb, mask]), out_size),
                              self._texture(_at_size(room, out_size), out_size),
                              self._texture(rgb if plate is None else plate.extended, out_size),
                              self._texture(np.dstack([rgb, held]), out_size),
                              self._texture(np.dstack([stays, cover]), out_size))
            self._room_frame = self._gpu.ctx.framebuffer([self._textures[1]])
            self._texture_source = (image, plate, cover, out_size)
        return self._textures

    def _texture(self, pixels: np.ndarray, out_size: tuple[int, int]):
        """Area-downscaled to the output's size, then sampled bilinearly: as sharp as mipmaps for a
        warp that moves pixels by less than their size, and about 3x cheaper to sample on llvmpipe."""
        if out_size[0] < pixels.shape[1]:
            pixels = _at_size(pixels, out_size)
        texture = ReadbackBridge.upload(self._gpu.ctx, pixels)
        texture.filter = (self._gpu.ctx.LINEAR, self._gpu.ctx.LINEAR)
        texture.repeat_x = texture.repeat_y = False
        return texture

    def _release_textures(self) -> None:
        if self._room_frame is not None:
            self._room_frame.release()
            self._room_frame = None
        for texture in self._textures:
            texture.release()
        self._textures = ()

    def _box_target(self, size: tuple[int, int]) -> tuple:
        if self._box is None or self._box[0] != size:
            self._release_box()
            ctx = self._gpu.ctx
            color = ctx.renderbuffer(size, 4, samples=self._samples)
            depth = ctx.depth_renderbuffer(size, samples=self._samples)
            resolved = ctx.texture(size, 4)
            self._box = (size, (color, depth), ctx.framebuffer([color], depth), resolved, ctx.framebuffer([resolved]))
        return self._box

    def render(self, image: Image, mesh: WarpMesh, out_size: tuple[int, int],
               cavity: tuple[float, float, float], teeth: tuple[float, float, float],
               driver: Image | None = None, mouth_colour: MouthColour = AS_IT_IS,
               plate: PersonAndPlate | None = None) -> Image:
        """driver: the frame the mouth layer samples where the mesh asks for it (LAYER_MOUTH_DRIVER), its
        lips and teeth colour-matched as `mouth_colour` says (`LipColourMatch`), which the drawn cavity and
        teeth take too; plate: the person's silhouette and the room behind them (else the whole portrait
        moves)."""
        with self._gpu.current():
            return self._render(image, mesh, out_size, cavity, teeth, driver, mouth_colour, plate)

    def _render(self, image, mesh, out_size, cavity, teeth, driver, mouth_colour, plate) -> Image:
        portrait, room, extended, backdrop, room_stays = self._portrait_textures(image, plate, mesh.face_cover,
                                                                                out_size)
        portrait.use(0)
        (driver.texture(self._gpu) if driver is not None else portrait).use(1)
        room.use(2)
        extended.use(3)
        backdrop.use(4)
        room_stays.use(5)
        viewport = (float(image.width), float(image.height))
        skin = self._turned_skin if mesh.turned else self._skin
        for program, _, _ in (self._unmoved, self._still, self._background, self._room, skin, self._features):
            _set_uniforms(program, viewport=viewport, out_size=(float(out_size[0]), float(out_size[1])))
        _set_uniforms(skin[0], turned_back=mesh.turned_back)
        _set_uniforms(self._background[0], room_from=room_from(plate), cover_gone=mesh.turned_back)
        _set_uniforms(self._features[0], driver_gain=mouth_colour.lips, driver_teeth_gain=mouth_colour.teeth,
                      driver_light=mouth_colour.driver_light,
                      driver_teeth_tint=mouth_colour.driver_teeth_tint, mouth_exposure=mouth_colour.portrait_exposure,
                      mouth_saturation=mouth_colour.saturation, mouth_tint=mouth_colour.tint,
                      cavity_color=cavity, teeth_color=teeth,
                      driver_share=mesh.driver_share, gap_own=mesh.gap_own)
        for name, values in (("iris", mesh.eyes.iris), ("iris_radius", mesh.eyes.iris_radius),
                             ("sclera", mesh.eyes.sclera), ("lashes", mesh.eyes.lashes),
                             ("eye_closure", mesh.eye_closure)):
            self._features[0][name].write(values.astype("f4").tobytes())
        for (_, vbo, _), vertices in ((self._background, mesh.background), (self._skin, mesh.vertices)):
            data = vertices.tobytes()
            if len(data) > vbo.size:
                vbo.orphan(len(data) * 2)
            vbo.write(data)
        ctx = self._gpu.ctx
        frame = Image.on_texture(self._gpu, out_size)
        target = self._gpu.textures.framebuffer(frame.texture(self._gpu))
        # the frame starts as the room where it lies (the room its triangles moved far from leaves it so), then
        # the background over the whole frame, one sample a pixel: its triangles do not overlap
        ctx.copy_framebuffer(target, self._room_frame)  # the room is at the output's size: a plain copy
        target.use()
        ctx.viewport = (0, 0, *out_size)  # the framebuffer keeps the last viewport set on it: the box's
        self._draw_background(mesh, (0, 0), out_size, out_size, mesh.background_shown)
        origin, size = face_box(mesh.vertices[:, :2] * (np.array(out_size) / viewport), out_size)
        _, _, box, resolved, resolved_target = self._box_target(size)
        box.use()
        ctx.viewport = (0, 0, *size)
        box.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.depth_func = "<="
        try:  # the face's box: the background under it again, so the face's smoothed edges blend with it
            self._draw_background(mesh, origin, size, out_size, mesh.background_shown)
            self._draw(self._room, len(mesh.background) - mesh.background_shown, origin, size, out_size,
                       mesh.background_shown)
            self._draw(skin, mesh.textured, origin, size, out_size)
            self._draw(self._features, len(mesh.vertices) - mesh.textured, origin, size, out_size, mesh.textured)
        finally:
            ctx.disable(moderngl.DEPTH_TEST)
        self._gpu.finish()  # rasterize with the GIL released (see GpuContext.finish)
        ctx.copy_framebuffer(resolved_target, box)  # resolves the samples
        target.use()
        ctx.viewport = (*origin, *size)
        resolved.use(0)
        self._compose["origin"] = origin
        self._compose_vao.render(mode=ctx.TRIANGLE_STRIP, vertices=4)
        self._gpu.finish()
        return frame

    def _draw_background(self, mesh: WarpMesh, origin: tuple[int, int], size: tuple[int, int],
                         out_size: tuple[int, int], count: int) -> None:
        """The first `count` vertices of the background: the still ones by their lean program, those not
        moved at all by a plain fetch where that lands on texels (an output larger than the portrait reads
        between them: by the plain fetch, the torso sharpened as it began to move)."""
        on_texels = self._textures[3].size == tuple(out_size)
        self._draw(self._unmoved if on_texels else self._still, mesh.background_unmoved, origin, size, out_size)
        self._draw(self._still, mesh.background_still - mesh.background_unmoved, origin, size, out_size,
                   mesh.background_unmoved)
        self._draw(self._background, count - mesh.background_still, origin, size, out_size, mesh.background_still)

    @staticmethod
    def _draw(layer: tuple, count: int, origin: tuple[int, int], size: tuple[int, int],
              out_size: tuple[int, int], first: int = 0) -> None:
        """Draw `count` vertices of a layer from its `first` into the bound framebuffer, which holds the
        output's pixels from `origin` over `size`."""
        program, _, vao = layer
        _set_uniforms(program, window=(origin[0] / out_size[0], origin[1] / out_size[1], size[0] / out_size[0],
                                       size[1] / out_size[1]), frame_origin=(float(origin[0]), float(origin[1])))
        if count:
            vao.render(vertices=count, first=first)

    def _release_box(self) -> None:
        if self._box is not None:
            for item in (self._box[4], self._box[3], self._box[2], *self._box[1]):
                item.release()
            self._box = None

    def release(self) -> None:
        with self._gpu.current():
            self._release_box()
            self._release_textures()
            for _, vbo, vao in (self._background, self._skin):
                vao.release()
                vbo.release()
            for _, _, vao in (self._turned_skin, self._features):
                vao.release()  # their vertex buffer is the skin's
            for _, _, vao in (self._unmoved, self._still, self._room):
                vao.release()  # and these the background's
            self._compose_vao.release()


def face_box(points: np.ndarray, out_size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(origin, size) in output pixels of a box around (N, 2) output positions (the face's layers), with
    FACE_BOX_MARGIN around them, its size rounded up to FACE_BOX_STEP and the whole box inside the output."""
    limit = np.array(out_size)
    low = np.clip(np.floor(points.min(axis=0)) - FACE_BOX_MARGIN, 0, limit)
    high = np.clip(np.ceil(points.max(axis=0)) + FACE_BOX_MARGIN, 0, limit)
    size = np.minimum(np.ceil(np.maximum(high - low, 1) / FACE_BOX_STEP) * FACE_BOX_STEP, limit)
    origin = np.minimum(low, limit - size)
    return (int(origin[0]), int(origin[1])), (int(size[0]), int(size[1]))


def _at_size(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, C) pixels resized to exactly `size` (width, height): by area down, bilinearly (as GL samples) up."""
    if pixels.shape[1::-1] == tuple(size):
        return pixels
    method = cv2.INTER_AREA if size[0] < pixels.shape[1] else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(pixels), size, interpolation=method)
    return resized.reshape(size[1], size[0], pixels.shape[2])  # OpenCV drops a single channel's axis


def _set_uniforms(program, **values) -> None:
    """Set those of `values` the program has: a variant's compiler drops the uniforms it does not use."""
    for name, value in values.items():
        if name in program:
            program[name] = value
