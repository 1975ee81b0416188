{#-
  saltmesh reactor: a minion started. When it is the minion of a docker host in the `servers`
  pillar, it is synced and every docker host (it included) applies its mesh share; for any
  other minion the runner answers {skipped: ...} and no job is published. Starts that arrive
  while a run is under way are served together by one more run.

  Master config (then restart the master), e.g. /etc/salt/master.d/saltmesh-reactor.conf:

      reactor:
        - 'salt/minion/*/start':
          - salt://reactor/mesh_join.sls

  What it runs, by hand:  salt-run mesh.join minion=<id>
#}
{%- if data.get('id') %}
saltmesh-mesh-join:
  runner.mesh.join:
    - args:
      - minion: {{ data['id'] | json }}
{%- endif %}
