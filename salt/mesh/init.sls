# The OVS tunnel mesh: this Docker host's bridge and its tunnels to every other host; then
# its DNS/DHCP server on that bridge (mesh.discovery).
#   salt 'docker*' state.sls mesh
# Pillar: servers (node_type: docker_host) and saltmesh:mesh; see pillar.example/.
include:
  - mesh.discovery

saltmesh-mesh:
  ovs_mesh.managed:
    - require_in:
      - mesh_discovery: saltmesh-discovery
