# The mesh's DNS and DHCP: this docker host's dnsmasq on the mesh bridge (docs/discovery.md).
# Included by mesh/init.sls (after the bridge); with discovery off (no docker_host has an
# overlay_address) no package is installed and the state removes what an earlier dnsmasq left.
{%- set ready = salt['sys.list_functions']('saltmesh_discovery.packages') %}
{%- set pkgs = salt['saltmesh_discovery.packages']() if ready else [] %}
{%- if pkgs %}
saltmesh-discovery-packages:
  pkg.installed:
    - pkgs: {{ pkgs | json }}
    - require_in:
      - mesh_discovery: saltmesh-discovery
{%- endif %}

saltmesh-discovery:
  mesh_discovery.managed: []
