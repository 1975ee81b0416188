"""Route 1: the modules reach the minion through file_roots and saltutil.sync_all."""

import pytest

pytestmark = pytest.mark.smoke


def test_sync_all_delivers_core_from_extmods(salt_call_cli):
    ret = salt_call_cli.run("saltmesh.version")
    assert ret.returncode == 0, ret
    assert "extmods" in ret.data["core"], ret.data


def test_inventory_check_names_pillar_path(salt_call_cli, pillar):
    pillar.set(
        {
            "servers": {
                "web01": {"node_type": "container", "address": "10.0.0.1", "parents": "nosuchhost"}
            }
        }
    )
    ret = salt_call_cli.run("saltmesh.inventory_check")
    assert ret.returncode != 0
    assert "servers:web01:parents:0: unknown parent 'nosuchhost'" in ret.stdout + ret.stderr
