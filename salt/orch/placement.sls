{#-
  Move containers between docker hosts without the same IP and MAC ever living twice on the
  mesh: every docker host first stops or removes what is no longer placed on it
  (containers.prune), and only when all of them succeeded does every host run what is placed
  on it (containers). A docker host that fails or does not answer in the first phase stops the
  move: it may still run a container that another host would start.

    salt-run placement.apply                     # when placement changed (or edit `parents`)
    salt-run state.orchestrate orch.placement    # test=True to see the moves first

  Docker hosts are the minions of the docker_host entries of the servers pillar
  (mesh.hosts, pillar as the master option saltmesh_pillar_minion sees it).
#}
{%- set minions = salt['saltutil.runner']('mesh.hosts') %}
{%- if minions is mapping %}
saltmesh-placement-pillar:
  test.fail_without_changes:
    - comment: {{ minions.get('error', minions) | json }}
{%- elif minions %}
saltmesh-placement-prune:
  salt.state:
    - tgt: {{ minions | join(',') }}
    - tgt_type: list
    - sls: containers.prune
    - queue: 8    # wait behind a state run in progress (the engine's, a schedule's)

saltmesh-placement-run:
  salt.state:
    - tgt: {{ minions | join(',') }}
    - tgt_type: list
    - sls: containers
    - queue: 8
    - require:
      - salt: saltmesh-placement-prune
{%- else %}
saltmesh-placement-none:
  test.succeed_without_changes:
    - comment: no docker_host in the servers pillar
{%- endif %}
