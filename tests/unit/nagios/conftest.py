"""A throwaway Nagios config tree (Debian's object templates copied in when installed)."""

from __future__ import annotations

import shutil

import pytest

from tests.unit.nagios.config_tree import DEBIAN_OBJECTS


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "conf.d" / "saltmesh").mkdir(parents=True)
    (tmp_path / "conf.d" / "other").mkdir()
    (tmp_path / "conf.d" / "other" / "gw.cfg").write_text(
        "define host {\n host_name gw\n use linux-server\n address 10.9.9.9\n}\n"
        "define service {\n host_name gw\n service_description PING\n use generic-service\n"
        " check_command check_ping!1,1%!2,2%\n}\n"
    )
    (tmp_path / "conf.d" / ".hidden.cfg").write_text("garbage")
    if DEBIAN_OBJECTS.is_dir():
        for name in ("commands.cfg", "contacts.cfg", "timeperiods.cfg", "templates.cfg"):
            shutil.copy(DEBIAN_OBJECTS / name, tmp_path / "objects" / name)
    (tmp_path / "nagios.cfg").write_text(
        "# test main config\n"
        "nagios_user=root\nnagios_group=root\n"  # pytest's tmp dirs are 0700
        "cfg_file=objects/commands.cfg\n"  # relative: resolved against the main config
        "cfg_file=objects/contacts.cfg\n"
        "cfg_file=objects/timeperiods.cfg\n"
        "cfg_file=objects/templates.cfg\n"
        "cfg_dir=/etc/nagios-plugins/config\n"
        f"cfg_dir={tmp_path}/conf.d\n"
        "illegal_object_name_chars=`~!$%^&*|'\"<>?,()=\n"
    )
    return tmp_path
