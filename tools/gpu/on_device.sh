#!/bin/bash
# On the GPU machine, with .whl, .gl and .ff carried (tools/gpu/prepare_carry.sh made them): install them
# where they do not disturb the image, then run check.sh. OUT: where the reports go (the device's $OUT).
set -u
cd "$(dirname "$0")/../.."
for deb in .gl/*.deb; do dpkg -x "$deb" /; done
ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 3
xz -dc .ff/ffmpeg.xz > /tmp/ffmpeg && chmod +x /tmp/ffmpeg
export PYTHONPATH=/tmp/site IMAGEIO_FFMPEG_EXE=/tmp/ffmpeg PYTHONUNBUFFERED=1
exec bash tools/gpu/check.sh
