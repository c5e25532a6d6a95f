"""render.portrait: the target portrait warped by its face mesh and a background mesh, drawn by
`renderer.PortraitRenderer`."""
from __future__ import annotations

from dataclasses import dataclass

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from nodes.track.types import FaceTrack
from nodes.retarget.types import Motion
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from nodes.track.types import FACE_TRACK
from nodes.retarget.types import MOTION
from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind, Port
from nodes.track.face_model import eye_widths, topology
from nodes.body.types import BODY_MOTION, BodyMotion
from nodes.render.glasses import wears_glasses
from nodes.render.lip_colour import LipColourMatch, MouthColour
from nodes.render.mouth import DriverMouth, SteadyDriverTeeth
from nodes.render.plate import PersonAndPlate, person_and_plate, still_plate
from nodes.render.renderer import PortraitRenderer
from nodes.track.occlusion import COVERED
from nodes.track.upright import upright_turns
from nodes.render.warp_mesh import MeshBuilder, WarpMesh


PLATES_KEPT = 8
UPSCALE_NOTICE = 2.0  # an output this many times the portrait's longest side, or more, is said to be soft
SMALLEST_FACE_OUTPUT = 64  # an output's longest side under this many pixels is said to show no face


@dataclass
class PreparedFrame:
    """What a frame's drawing needs: the mesh, and the driver frame its mouth samples (None: drawn cavity),
    with the gains that match its lips and teeth to the portrait's."""
    image: Image
    mesh: WarpMesh
    out_size: tuple[int, int]
    driver: Image | None
    mouth_colour: MouthColour
    plate: PersonAndPlate | None
    timestamp: float


class RenderPortrait(Node):
    schema = NodeSchema(
        type_id="render.portrait", title="Render Portrait", category="render",
        help="Draws the target portrait in the retargeted pose and expression, in layers that share their edges "
             "and hide what a turned face hides: the room behind the person where the head or body moved away, "
             "hair and torso following head and shoulders, the face, the portrait's own teeth split between the "
             "jaws with the driver's mouth (or a drawn cavity) between them, and eyes that open without smearing "
             "and shut fully.",
        inputs=(Port("image", ports.IMAGE, "the target portrait"),
                Port("track", FACE_TRACK, "the portrait's own face track"),
                Port("motion", MOTION, "where the portrait's landmarks go"),
                Port("driver", ports.IMAGE, "the driving frame, whose own mouth interior can fill the "
                     "portrait's opened mouth", optional=True),
                Port("driver_track", FACE_TRACK, "the driving frame's face track (unsmoothed, so it matches "
                     "the frame)", optional=True),
                Port("plate", ports.IMAGE, "the room behind the person (e.g. a target video's median frame); "
                     "unconnected, it is made from the portrait once", optional=True),
                Port("body", BODY_MOTION, "where the portrait's shoulders go: the torso follows them and the "
                     "neck blends between head and torso; unconnected, the torso stays put", optional=True)),
        outputs=(Port("image", ports.IMAGE, "the rendered frame"),),
        params=(
            Param("size", ParamKind.INT, 0, "longest side of the output in pixels (0: the portrait's size)",
                  minimum=0, maximum=4096),
            Param("grid", ParamKind.INT, 32, "background mesh cells per side", minimum=4, maximum=128),
            Param("antialias", ParamKind.ENUM, "4x", "multisampling", choices=("off", "2x", "4x", "8x")),
            Param("resampling", ParamKind.ENUM, "auto", "how the portrait's pixels are read where they moved: by a "
                  "cubic, which keeps their fine detail (skin, lashes, hair), in the face alone or everywhere (about "
                  "3 ms a frame more on a 2-core CPU, nothing measurable on a GPU); or bilinearly, which softens them "
                  "wherever they moved part of a pixel. auto: everywhere on a GPU, the face alone in software GL",
                  choices=("auto", "face", "cubic", "bilinear")),
            Param("background", ParamKind.ENUM, "plate", "what shows where the head or body moves away: the "
                  "room behind the person (the portrait with the person segmented out and inpainted, made once), "
                  "or the portrait's own pixels moved along (warp)", choices=("plate", "warp")),
            Param("mouth_source", ParamKind.ENUM, "driver", "what fills a mouth opened wider than in the portrait: "
                  "the driver's own mouth interior (teeth, tongue), colour-matched to the portrait's lips, when "
                  "the driver inputs are connected; or a drawn cavity", choices=("driver", "drawn")),
            Param("glasses", ParamKind.ENUM, "auto", "whether the portrait wears glasses, which then move with the "
                  "head alone, not bent by the expression around the eyes (auto: looked for across the nose's "
                  "bridge)", choices=("auto", "on", "off")),
            Param("cavity_color", ParamKind.COLOR, [0.22, 0.06, 0.07, 1.0], "colour of the drawn mouth interior"),
            Param("teeth_color", ParamKind.COLOR, [0.86, 0.84, 0.78, 1.0], "colour of the drawn cavity's upper teeth"),
        ),
        gpu=True,
        degrade=(Degrade("antialias", ("2x", "off"), "smooth edges (multisampling): outlines get stair steps"),
                 Degrade("resampling", ("bilinear",), "fine detail where the portrait moved: it softens a little"),
                 Degrade("grid", (16,), "the hair and torso bend with the head in coarser steps (moved a pixel)")),
    )

    def open(self, run: RunContext) -> None:
        self._run = run
        self._gpu = run.open_gpu()
        topology()  # load the mesh topology before the first frame
        self._renderer = None
        self._builder: tuple[FaceTrack, PersonAndPlate | None, tuple, MeshBuilder] | None = None
        self._plates: dict[tuple[int, int], tuple] = {}
        self._lip_match = LipColourMatch()
        self._driver_teeth = SteadyDriverTeeth()
        self._told_size: tuple[int, int, int] | None = None

    def _mesh_builder(self, image: Image, track: FaceTrack, plate: PersonAndPlate | None) -> MeshBuilder:
        """One per portrait and plate (its background triangulation is made once), rebuilt when the grid
        changes."""
        key = (image.width, image.height, self.params.grid, self.params.glasses)
        built = self._builder
        if built is None or built[0] is not track or built[1] is not plate or built[2] != key:
            glasses = self.params.glasses == "on" or (self.params.glasses == "auto"
                                                      and wears_glasses(image.rgb(), track.landmarks))
            self._builder = (track, plate, key, MeshBuilder(track.landmarks, (image.width, image.height),
                                                            self.params.grid, image.rgb(), plate, glasses))
        return self._builder[3]

    def _plate_of(self, image: Image, given: Image | None, track: FaceTrack) -> PersonAndPlate | None:
        """The portrait's person mask and plate, made once per portrait and given plate (segmentation and
        inpainting take a moment; a target video's frames repeat, so a few are kept), with the person stood
        upright as their face is."""
        if self.params.background != "plate":
            return None
        turns = upright_turns(track.landmarks)
        key = (id(image), id(given), turns)
        if key not in self._plates:
            made = (still_plate(image.rgb(), turns) if given is None
                    else person_and_plate(image.rgb(), given.rgb(), turns))
            self._plates[key] = (image, given, made)  # the images are kept so their ids stay theirs
            while len(self._plates) > PLATES_KEPT:
                self._plates.pop(next(iter(self._plates)))
        return self._plates[key][2]

    def _samples(self) -> int:
        """The multisampling asked for, at most what the GL offers (llvmpipe: 4x; 8x failed every frame)."""
        asked = {"off": 0, "2x": 2, "4x": 4, "8x": 8}[self.params.antialias]
        most = self._gpu.ctx.max_samples
        if asked > most:
            self._run.notice(f"{self.node_id}: {asked}x multisampling is more than this GL offers: {most}x is used")
        return min(asked, most)

    def params_changed(self, names: set[str]) -> None:
        if names & {"antialias", "resampling"}:
            self.close()  # re-created with the new sample count or shaders on the next frame

    def process(self, ctx: FrameContext, **inputs) -> dict:
        return self.draw(ctx, self.prepare(ctx, **inputs))

    def prepare(self, ctx: FrameContext, image: Image, track: FaceTrack, motion: Motion,
                driver: Image | None = None, driver_track: FaceTrack | None = None, plate: Image | None = None,
                body: BodyMotion | None = None) -> PreparedFrame:
        """The frame's mesh and colour match, on the host (a pipelined run does it on the capture thread)."""
        if not track.valid:
            raise ReenactError("no face found in the target portrait", hint="use a portrait with a clear, "
                               "frontal face", from_input="track")
        if track.image_size != (image.width, image.height):
            raise ReenactError(f"the track is for a {track.image_size[0]}x{track.image_size[1]} image but the "
                               f"portrait is {image.width}x{image.height}", hint="track the same image you render")
        dst = motion.landmarks if motion.valid else track.landmarks
        gaze_px = motion.gaze * eye_widths(track.landmarks)[:, None] if motion.valid else None
        use_driver = (self.params.mouth_source == "driver" and driver is not None and driver_track is not None
                      and driver_track.valid and motion.valid and driver_track.occlusion[0] < COVERED)
        driver_mouth = (self._driver_teeth.steadied(DriverMouth.of(driver_track.landmarks, driver_track.image_size,
                                                                   driver.rgb(), self._lip_match.driver_balance))
                        if use_driver else None)
        torso = (body.src, body.dst) if body is not None and body.valid else None
        segmented = self._plate_of(image, plate, track)
        builder = self._mesh_builder(image, track, segmented)
        mesh = builder.build(dst, gaze_px, driver_mouth, torso, motion.lips_cover if motion.valid else 0.0)
        if use_driver:
            colour = self._lip_match.colour(image, track, driver, driver_track, builder.jaws.teeth_colour,
                                            driver_mouth.teeth_colour)
        else:
            colour = self._lip_match.drawn(image, track)
        self._tell_size(image)
        return PreparedFrame(image, mesh, _output_size(image.width, image.height, self.params.size),
                             driver if use_driver else None, colour, segmented, motion.timestamp)

    def _tell_size(self, image: Image) -> None:
        """Once per portrait and size: an output far larger than the portrait is soft (it has no more detail),
        and one a few pixels wide shows no face."""
        size, longest = self.params.size, max(image.width, image.height)
        key = (image.width, image.height, size)
        if key == self._told_size or not (size >= UPSCALE_NOTICE * longest or 0 < size < SMALLEST_FACE_OUTPUT):
            return
        self._told_size = key
        what = (f"it is enlarged {size / longest:.1f}x and looks soft" if size > longest else
                "the output is too small to show a face")
        self._run.notice(f"{self.node_id}: the portrait is read at {image.width}x{image.height}; at size {size} {what} "
                         "(size 0 renders at the portrait's own size)")

    def draw(self, ctx: FrameContext, prepared: PreparedFrame) -> dict:
        if self._renderer is None:
            self._renderer = PortraitRenderer(self._gpu, self._samples(), self.params.resampling)
        frame = self._renderer.render(prepared.image, prepared.mesh, prepared.out_size,
                                      tuple(self.params.cavity_color[:3]), tuple(self.params.teeth_color[:3]),
                                      prepared.driver, prepared.mouth_colour, prepared.plate)
        frame.timestamp = prepared.timestamp  # the driver's moment it shows, which a file output keeps in time
        return {"image": frame}

    def close(self) -> None:
        if getattr(self, "_renderer", None) is not None:
            self._renderer.release()
            self._renderer = None


def _output_size(width: int, height: int, longest: int) -> tuple[int, int]:
    if longest == 0:
        return width, height
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


NODES = [RenderPortrait]
