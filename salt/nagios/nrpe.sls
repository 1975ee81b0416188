{#-
  nagios.nrpe: the NRPE agent on a monitored minion. `allowed_hosts` is one sorted line of the
  Nagios servers' addresses (`saltmesh:nagios:servers`); the commands are the default ones the
  default services call (check_salt_minion, check_users) with `saltmesh:nagios:nrpe:commands`
  over them. Both live in a file the pack owns in NRPE's include_dir.

      salt 'web*' state.sls nagios.nrpe
#}
{%- set ng = salt['saltmesh_nagios.settings'](quiet=True, check='nrpe') %}
{%- if ng.invalid is defined %}

# The pillar is invalid: nothing is installed or written, and this one state fails with each
# problem and its pillar path.
saltmesh-nrpe-config:
  nagios_nrpe.managed:
    - name: saltmesh:nagios:nrpe
{%- else %}
{%- set nrpe = ng.nrpe %}
{%- set before = [{'file': 'saltmesh-nrpe-include-dir'}] %}

{%- if nrpe.packages %}
saltmesh-nrpe-packages:
  pkg.installed:
    - pkgs: {{ nrpe.packages | json }}
{%- do before.append({'pkg': 'saltmesh-nrpe-packages'}) %}
{%- endif %}

saltmesh-nrpe-include-dir:
  file.directory:
    - name: {{ nrpe.include_dir }}
    - makedirs: True
{%- if nrpe.packages %}
    - require:
      - pkg: saltmesh-nrpe-packages
{%- endif %}

saltmesh-nrpe-config:
  nagios_nrpe.managed:
    - name: {{ nrpe.include_dir }}/{{ nrpe.file }}
    - require: {{ before | json }}

{%- if nrpe.reload == 'systemd' %}

saltmesh-nrpe-service:
  service.running:
    - name: {{ nrpe.service }}
    - enable: True
    - require:
      - nagios_nrpe: saltmesh-nrpe-config
{%- endif %}
{%- endif %}
