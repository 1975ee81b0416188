base:
  '*':
    - servers
    - mesh
    - nagios
    - saltmesh_placement
