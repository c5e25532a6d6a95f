#!/bin/bash
# Here, before a GPU check: what the GPU machine's image lacks, packed to travel with the working tree
# (64 MiB in all) into three ignored folders, .whl, .gl and .ff. Then, on the device, with those three
# carried: `bash tools/gpu/on_device.sh` (it installs them and runs check.sh). The image has Python 3.12,
# PyTorch, OpenCV 5 and numpy 2, but not MediaPipe, moderngl, a protobuf below 5, imageio-ffmpeg, ffmpeg,
# pillow-heif or the GL loader libraries.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .git/info .whl .gl .ff
for folder in /.whl/ /.gl/ /.ff/; do
  grep -qxF "$folder" .git/info/exclude 2>/dev/null || echo "$folder" >> .git/info/exclude
done
rm -f .whl/*.whl .gl/*.deb .ff/ffmpeg.xz
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d .whl mediapipe==0.10.21 protobuf==4.25.8 moderngl==5.12.0 glcontext==3.0.0 \
    imageio-ffmpeg==0.6.0 pillow-heif==1.8.1
# MediaPipe's full hand models (the hand tracker runs the lite ones) and its tests: without them it fits
zip -q -d .whl/mediapipe-*.whl 'mediapipe/modules/hand_landmark/hand_landmark_full.tflite' \
    'mediapipe/modules/palm_detection/palm_detection_full.tflite' 'mediapipe/tasks/python/test/*'
# imageio-ffmpeg's binary travels xz-packed (21 MB instead of 29): the package is imported everywhere
ffmpeg=$(unzip -Z1 .whl/imageio_ffmpeg-*.whl | grep 'binaries/ffmpeg-linux')
unzip -p .whl/imageio_ffmpeg-*.whl "$ffmpeg" | xz -T2 -9 > .ff/ffmpeg.xz
zip -q -d .whl/imageio_ffmpeg-*.whl "$ffmpeg"
lists=/tmp/amd64-lists; mkdir -p "$lists/partial"
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${apt[@]}" update -qq
(cd .gl && apt-get "${apt[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -ch .whl .gl .ff | tail -1
