# Run exactly the containers whose `parents` is this minion's docker host (servers pillar),
# attached to Open vSwitch; remove managed containers no longer declared here.
# mesh.discovery first (no requisite: a failure there does not hold the containers back), so
# that this host's DHCP server knows a `dhcp: true` container placed here before it starts,
# and its DNS names a new container at once.
include:
  - mesh.discovery

saltmesh-containers:
  container.placed
