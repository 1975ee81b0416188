# Large fleets (docs/scale.md): instead of servers/mesh/nagios/saltmesh_placement here, put
# them in one fleet file read by the saltmesh_fleet ext_pillar, which gives each minion only
# its share (Nagios servers and the runners still get everything). In the master config:
#   ext_pillar:
#     - saltmesh_fleet:
#         paths: [/srv/saltmesh/fleet.yaml, /srv/saltmesh/saltmesh_placement.sls]
#         whole: ['*']
#   saltmesh:
#     placement_file: /srv/saltmesh/saltmesh_placement.sls
base:
  '*':
    - servers
    - mesh
    - nagios
    - saltmesh_placement
