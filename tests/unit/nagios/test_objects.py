"""Reading Nagios configuration text: object files and the names they define."""

from __future__ import annotations

from saltmesh.nagios.objects import parse_objects, scan_known


def test_parse_objects_reads_templates_and_hosts():
    text = """
    # comment
    define host {
        name            linux-server ; a template
        register        0
    }
    define host{
        host_name   gw1
        use         linux-server
    }
    define hostgroup {
        hostgroup_name  edge
    }
    define service {
        name  svc-tpl
        register 0
    }
    """
    known = scan_known(parse_objects(text, "/etc/x.cfg"))
    assert known.host_templates == {"linux-server"}
    assert known.service_templates == {"svc-tpl"}
    assert dict(known.hosts) == {"gw1": "/etc/x.cfg"}
    assert known.hostgroups == {"edge"}
