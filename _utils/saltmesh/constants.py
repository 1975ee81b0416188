"""Constants shared by more than one part of the core: each is defined here and nowhere else."""

from __future__ import annotations

IFNAMSIZ = 15  # visible bytes of a Linux interface name (and so of an OVS port name)
TUNNEL_TYPES = ("gre", "vxlan", "geneve")  # tunnel types the mesh plans
TOPOLOGIES = ("full", "flow")  # saltmesh:mesh:topology: a port per peer, or flow-based
DATAPATH_TYPES = ("system", "netdev")  # OVS bridge datapaths (netdev: userspace)
ASIDE_SUFFIX = ".saltmesh-old"  # a recreate keeps the old container under <name><suffix>
# where a minion container's config and key pair are mounted (read-only) inside it
MINION_MOUNTS = (
    "/etc/salt/minion.d",
    "/etc/salt/pki/minion/minion.pem",
    "/etc/salt/pki/minion/minion.pub",
)
