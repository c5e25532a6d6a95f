#!/bin/bash
# Here, before a GPU check: what the GPU machine's image lacks, packed to travel with the working tree
# (64 MiB in all, the tree's own 13 MB included) into two ignored folders, .whl and .gl. Then, on the
# device, with those two carried: `bash tools/gpu/on_device.sh` (it unpacks them and runs check.sh). The
# image has Python 3.12, PyTorch, OpenCV 5 and numpy 2, but not MediaPipe, moderngl, a protobuf below 5,
# imageio-ffmpeg, ffmpeg, pillow-heif or the GL loader libraries.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .git/info .whl .gl
for folder in /.whl/ /.gl/ /.ff/; do
  grep -qxF "$folder" .git/info/exclude 2>/dev/null || echo "$folder" >> .git/info/exclude
done
rm -rf .whl/* .gl/*.deb .ff
wheels=$(mktemp -d); site=$(mktemp -d)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$wheels" mediapipe==0.10.21 protobuf==4.25.8 moderngl==5.12.0 \
    glcontext==3.0.0 imageio-ffmpeg==0.6.0 pillow-heif==1.8.1
# The wheels unpacked as pip would install them (none has a .data folder), then xz-packed whole: 48 MB,
# where the wheels took 35 and ffmpeg, xz-packed on its own, 21 more (with pillow-heif it no longer fit).
# Left out of MediaPipe: its full hand models (the hand tracker runs the lite ones), the face mesh without
# attention (refine_landmarks runs the one with it), the landscape segmentation model, the holistic models
# (not their Python: `mediapipe` imports it) and its tests.
for wheel in "$wheels"/*.whl; do unzip -qo "$wheel" -d "$site"; done
rm -rf "$site"/mediapipe/modules/hand_landmark/hand_landmark_full.tflite \
    "$site"/mediapipe/modules/palm_detection/palm_detection_full.tflite \
    "$site"/mediapipe/modules/face_landmark/face_landmark.tflite \
    "$site"/mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite \
    "$site"/mediapipe/modules/holistic_landmark/*.tflite "$site"/mediapipe/tasks/python/test
tar -C "$site" -c . | xz -T2 -9 > .whl/site.tar.xz
rm -rf "$wheels" "$site"
lists=/tmp/amd64-lists; mkdir -p "$lists/partial"
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${apt[@]}" update -qq
(cd .gl && apt-get "${apt[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -ch .whl .gl | tail -1
