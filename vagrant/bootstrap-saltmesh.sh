#!/bin/bash
# Vagrant's salt provisioner runs this as its bootstrap_script (instead of bootstrap-salt.sh,
# which Debian's vagrant downloads from bootstrap.saltproject.io and which installs Salt from
# packages.broadcom.com). It needs only Debian's archive and the Python package index:
#
#   Salt and saltmesh with pip (route 2) into the venv /opt/saltmesh, the salt-* commands
#   linked into /usr/local/bin, /srv/saltmesh linked to the SLS tree inside the saltmesh wheel
#   (`python3 -m saltmesh.loader` prints it), the uploaded configs installed, and the daemons
#   (salt-minion without a master: it runs the mesh.heal schedule; salt-master with -M)
#   under systemd.
#
# Called as the provisioner does, e.g.
#   bootstrap_salt.sh -i docker01 -F -c /tmp pip 3008.3      (first `vagrant up`)
#   bootstrap_salt.sh -i docker01 -F -c /tmp -C pip 3008.3   (Salt found: configure only)
#   bootstrap_salt.sh -F -c /tmp -M -N pip 3008.3            (the master box)
set -euo pipefail

VENV=/opt/saltmesh
SRC=/vagrant                  # the synced checkout: pip installs saltmesh from it
CONFIG_DIR=/tmp
CONFIGURE_ONLY=0 MASTER=0 MINION=1 FORCE=0 MINION_ID=""

while getopts "i:c:FCMNSPDXx:j:J:k:" opt; do
    case "$opt" in
        i) MINION_ID=$OPTARG ;;
        c) CONFIG_DIR=$OPTARG ;;
        F) FORCE=1 ;;
        C) CONFIGURE_ONLY=1 ;;
        M) MASTER=1 ;;
        N) MINION=0 ;;
        S | P | D | X | x | j | J | k) echo "bootstrap-saltmesh: ignoring -$opt" >&2 ;;
        *) echo "usage: $0 [-i id] [-c config_dir] [-F] [-C] [-M] [-N] [pip [version]]" >&2
           exit 2 ;;
    esac
done
shift $((OPTIND - 1))
INSTALL_TYPE=${1:-pip}
VERSION=${2:-3008.3}
if [ "$INSTALL_TYPE" != pip ]; then
    echo "bootstrap-saltmesh: install type '$INSTALL_TYPE' unsupported (use salt.install_type = \"pip\")" >&2
    exit 2
fi
if [ -n "${SALTMESH_BOOTSTRAP_DRY_RUN:-}" ]; then  # the tests: what these options mean
    echo "install=$((1 - CONFIGURE_ONLY)) salt=$VERSION config_dir=$CONFIG_DIR force=$FORCE" \
        "master=$MASTER minion=$MINION id=$MINION_ID"
    exit 0
fi

if [ "$CONFIGURE_ONLY" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "salt==$VERSION" "$SRC[docker,slack]"
    for cmd in salt salt-call salt-minion salt-master salt-run salt-key; do
        ln -sf "$VENV/bin/$cmd" "/usr/local/bin/$cmd"
    done
fi

# The one line that says where the SLS tree comes from (README.md, "Install").
ln -sfn "$("$VENV/bin/python" -m saltmesh.loader)" /srv/saltmesh

install -d -m 0755 /etc/salt
put() {  # put <uploaded file> <destination>: -F overwrites, like bootstrap-salt.sh
    if [ -f "$1" ] && { [ "$FORCE" = 1 ] || [ ! -e "$2" ]; }; then
        install -m 0644 "$1" "$2"
    fi
}
unit() {  # unit <daemon>: a systemd service running it from the venv, restarted
    cat >"/etc/systemd/system/$1.service" <<EOF
[Unit]
Description=The Salt ${1#salt-} (saltmesh Vagrant box)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=$VENV/bin/$1
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
    systemctl daemon-reload
    systemctl enable --quiet "$1"
    systemctl restart "$1"
}

if [ "$MASTER" = 1 ]; then
    put "$CONFIG_DIR/master" /etc/salt/master
    unit salt-master
fi
if [ "$MINION" = 1 ]; then
    put "$CONFIG_DIR/minion" /etc/salt/minion
    [ -z "$MINION_ID" ] || echo "$MINION_ID" >/etc/salt/minion_id
    unit salt-minion
    # the highstate that follows adds the mesh.heal schedule through this daemon's event bus
    for _ in $(seq 60); do
        ls /var/run/salt/minion/minion_event_*_pub.ipc >/dev/null 2>&1 && break
        sleep 1
    done
fi
