{#-
  saltmesh reactor: a docker host announced the public keys it made for its minion containers
  (container.placed, for containers with `container:minion` in the servers pillar). The runner
  accepts each one only when the pillar places that container on the announcing docker host;
  nobody runs salt-key and the master keeps auto_accept off.

  Master config (then restart the master), e.g. /etc/salt/master.d/saltmesh-minion-keys.conf:

      reactor:
        - 'saltmesh/containers/minion-keys':
          - salt://reactor/minion_keys.sls

  What it runs, by hand:  salt-run minion_keys.accept host=<docker host minion> keys='{...}'
#}
{%- set keys = (data.get('data') or {}).get('keys') %}
{%- if data.get('id') and keys %}
saltmesh-minion-keys:
  runner.minion_keys.accept:
    - args:
      - host: {{ data['id'] | json }}
      - keys: {{ keys | json }}
{%- endif %}
