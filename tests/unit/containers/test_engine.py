"""The Docker access layer: clean errors, no engine needed."""

from __future__ import annotations

import pytest

from saltmesh.containers import engine


def test_engine_unreachable_explains(tmp_path):
    missing = tmp_path / "nope.sock"
    assert "does not exist" in engine.engine_unreachable(f"unix://{missing}")
    missing.write_text("")  # a file, not a listening socket
    assert "refuses connections" in engine.engine_unreachable(f"unix://{missing}")
    assert engine.engine_unreachable("tcp://127.0.0.1:2375") is None  # checked on first use


def test_engine_error_carries_message(tmp_path):
    with pytest.raises(engine.EngineError) as err:
        engine.Engine(f"unix://{tmp_path / 'nope.sock'}")
    assert str(err.value).startswith("Docker engine:")


def test_known_version_skips_the_version_request(tmp_path):
    with engine.Engine(f"unix://{tmp_path / 'nope.sock'}", version="1.41") as client:
        assert client.requests == 0 and client.version == "1.41"
        with pytest.raises(engine.EngineError, match="^Docker engine:"):
            client.managed()


@pytest.mark.parametrize(("events", "started"), [([{"Action": "start"}], True), ([], False)])
def test_wait_for_start_filters_managed_starts(tmp_path, events, started):
    client = engine.Engine(f"unix://{tmp_path / 'nope.sock'}", version="1.41")
    api = client.api

    class Api:
        def __init__(self):
            self.kwargs = None

        def events(self, **kwargs):
            self.kwargs = kwargs
            return iter(events)

    client.api = fake = Api()
    try:
        assert client.wait_for_start(1234.5) is started
        assert fake.kwargs == {
            "decode": True,
            "until": "1234.500000000",
            "filters": {"type": "container", "event": "start", "label": "saltmesh.managed=true"},
        }
        client.wait_for_start(1234.5, since=1200.25)  # replay from there
        assert fake.kwargs["since"] == "1200.250000000"
    finally:
        api.close()
