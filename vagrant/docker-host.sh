#!/bin/bash
# Vagrant shell provisioner of the Docker hosts (runs before the salt provisioner): what the
# mesh and container states need on the box, from Debian's archive only, and the image
# pillar.example's containers run (local/busybox:latest, from busybox-static with
# `docker import`: no registry needed).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    openvswitch-switch docker.io ethtool iproute2 util-linux busybox-static >/dev/null
systemctl enable --now --quiet openvswitch-switch docker

IMAGE=local/busybox:latest
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in sh sleep ip ping httpd wget cat echo ls mkdir hostname kill true env \
        ifconfig nc printf wc; do
        ln -s busybox "$rootfs/bin/$applet"
    done
    echo "hello from saltmesh" >"$rootfs/www/index.html"
    tar -C "$rootfs" -c . | docker import - "$IMAGE" >/dev/null
    echo "built $IMAGE"
fi
