#!/bin/bash
# On the GPU machine, with .whl and .gl carried (tools/gpu/prepare_carry.sh made them): unpack them where
# they do not disturb the image, then run check.sh. OUT: where the reports go (the device's $OUT).
set -u
cd "$(dirname "$0")/../.."
for deb in .gl/*.deb; do dpkg -x "$deb" /; done
ldconfig
mkdir -p /tmp/site && xz -dc .whl/site.tar.xz | tar -x -C /tmp/site || exit 3
chmod +x /tmp/site/imageio_ffmpeg/binaries/ffmpeg-*
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
exec bash tools/gpu/check.sh
