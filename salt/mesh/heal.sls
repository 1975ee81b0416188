# Heal drift on a schedule: every docker host re-applies its highstate (salt/top.sls: mesh,
# containers, ...). Part of the highstate of docker hosts; alone: salt 'docker*' state.sls mesh.heal
# Pillar: saltmesh:heal_minutes (default 10), or saltmesh:heal_seconds (demos, tests; no splay).
{%- set seconds = salt['pillar.get']('saltmesh:heal_seconds') %}
saltmesh-heal:
  schedule.present:
    - function: state.apply
    - job_kwargs: {queue: True}    # wait for a run in progress (a manual one) instead of failing
    - run_on_start: False          # first run after one interval, not while this run goes on
{%- if seconds %}
    - seconds: {{ seconds | int }}
{%- else %}
    - minutes: {{ salt['pillar.get']('saltmesh:heal_minutes', 10) | int }}
    - splay: 30
{%- endif %}
    - return_job: False
