"""mesh.heal: a Salt schedule that re-applies the highstate, so drift heals by itself."""

from tests.conftest import state_ret


def test_heal_schedule_is_idempotent(salt_call_cli):
    try:
        predicted = state_ret(salt_call_cli.run("state.sls", "mesh.heal", test=True))
        # Salt core's schedule.present answers result=True in test mode; it still only predicts
        assert predicted[0]["changes"] == {"saltmesh-heal": "added"}, predicted
        assert "saltmesh-heal" not in (
            salt_call_cli.run("schedule.list", "return_yaml=False").data or {}
        )
        first = state_ret(salt_call_cli.run("state.sls", "mesh.heal"))
        assert first[0]["result"] is True and first[0]["changes"], first
        listed = salt_call_cli.run("schedule.list", "return_yaml=False")
        job = listed.data["saltmesh-heal"]
        assert job["function"] == "state.apply" and job["minutes"] == 10
        # a scheduled highstate waits for a manual run instead of failing, and does not start
        # while the run that registered it is still going
        assert job.get("kwargs") == {"queue": True} and job.get("run_on_start") is False, job
        again = state_ret(salt_call_cli.run("state.sls", "mesh.heal"))
        assert again[0]["result"] is True and again[0]["changes"] == {}, again
    finally:
        salt_call_cli.run("schedule.delete", "saltmesh-heal")
