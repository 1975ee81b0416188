{#-
  saltmesh's highstate: each minion gets the SLS its place in the `servers` pillar gives it
  (saltmesh.highstate_sls): docker hosts `mesh`, `containers` and `mesh.heal`; Nagios servers
  (saltmesh:nagios:servers) `nagios.running`; every server that is a minion `nagios.nrpe`.

      salt '*' state.apply

  Before the first saltutil.sync_all (which renders this file too) the function is not there
  yet: the top then gives nothing, instead of failing.
#}
{%- set ready = salt['sys.list_functions']('saltmesh.highstate_sls') %}
{%- set sls = salt['saltmesh.highstate_sls']() if ready else [] %}
base:
  '{{ grains['id'] }}': {{ sls | json }}
