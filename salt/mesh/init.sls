# The OVS tunnel mesh: this Docker host's bridge and its tunnels to every other host.
#   salt 'docker*' state.sls mesh
# Pillar: servers (node_type: docker_host) and saltmesh:mesh; see pillar.example/.
saltmesh-mesh:
  ovs_mesh.managed: []
