{#-
  nagios.running: Nagios host/hostgroup/service objects for every server in the `servers`
  pillar (each with `saltmesh:nagios:default_services`), validated with `nagios -v` before
  they go live, plus Slack notifications.

      salt 'nagios*' state.sls nagios.running

  Paths, reload method and packages come from `saltmesh:nagios` (pillar.example/nagios.sls);
  saltmesh_nagios.settings fills in the Debian defaults, so they live in one place.
#}
{%- set ng = salt['saltmesh_nagios.settings'](quiet=True, check='objects') %}
{%- if ng.invalid is defined %}

# The pillar is invalid: nothing is installed or written, and this one state fails with each
# problem and its pillar path.
saltmesh-nagios-objects:
  nagios_objects.managed:
    - name: {{ salt['pillar.get']('saltmesh:nagios:conf_dir', '/etc/nagios4/conf.d/saltmesh') | string | json }}
{%- else %}
{%- set slack = ng.slack %}
{%- set before = [] %}

{%- if ng.packages %}
saltmesh-nagios-packages:
  pkg.installed:
    - pkgs: {{ ng.packages | json }}
{%- do before.append({'pkg': 'saltmesh-nagios-packages'}) %}
{%- endif %}

{%- if slack.enabled %}
saltmesh-nagios-slack-script:
  file.managed:
    - name: {{ slack.script }}
    - source: salt://nagios/files/slack_notify.py
    - user: root
    - group: root
    - mode: '0755'
    - makedirs: True

saltmesh-nagios-slack-url:
  file.managed:
    - name: {{ slack.url_file }}
    - contents_pillar: saltmesh:nagios:slack:webhook_url
    - user: root
    - group: {{ ng.group }}
    - mode: '0640'
    - show_changes: False
    - makedirs: True
{%- do before.append({'file': 'saltmesh-nagios-slack-script'}) %}
{%- do before.append({'file': 'saltmesh-nagios-slack-url'}) %}
{%- else %}

# Slack switched off: do not leave the webhook (a secret) behind.
saltmesh-nagios-slack-url:
  file.absent:
    - name: {{ slack.url_file }}
{%- endif %}

saltmesh-nagios-objects:
  nagios_objects.managed:
    - name: {{ ng.conf_dir }}
{%- if before %}
    - require: {{ before | json }}
{%- endif %}

{%- if ng.reload == 'systemd' %}

# Started (with the validated objects) if it was down; never restarted or reloaded from here:
# nagios_objects.managed reloads once, and only after `nagios -v` accepted the new objects.
saltmesh-nagios-service:
  service.running:
    - name: {{ ng.service }}
    - enable: True
    - require:
      - nagios_objects: saltmesh-nagios-objects
{%- endif %}
{%- endif %}
