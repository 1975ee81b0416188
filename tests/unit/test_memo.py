"""saltmesh.memo: a result computed once per pillar content, never a stale one."""

import os

from saltmesh import memo

PILLAR = {"servers": {"docker01": {"node_type": "docker_host", "address": "10.0.0.1"}}}


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"plan": self.calls}


def files(cachedir):
    folder = os.path.join(cachedir, "saltmesh", "memo")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_same_pillar_computes_once(tmp_path):
    compute = Counter()
    key = memo.digest(PILLAR, "state", "minion1")
    assert memo.cached(str(tmp_path), key, compute) == {"plan": 1}
    assert memo.cached(str(tmp_path), key, compute) == {"plan": 1}
    assert compute.calls == 1


def test_key_follows_pillar_args_and_only_our_keys():
    base = memo.digest(PILLAR, "state", "minion1")
    changed = {"servers": {"docker01": {"node_type": "docker_host", "address": "10.0.0.2"}}}
    assert memo.digest(changed, "state", "minion1") != base
    assert memo.digest(PILLAR, "state", "minion2") != base
    assert memo.digest({**PILLAR, "saltmesh": {"mesh": {"topology": "flow"}}}, "state") != base
    # pillar keys that no planner reads do not change the key
    assert memo.digest({**PILLAR, "nagios": {"x": 1}}, "state", "minion1") == base


def test_code_change_is_a_new_key(monkeypatch):
    base = memo.digest(PILLAR, "state")
    monkeypatch.setattr(memo, "_code_stamp", lambda: b"another saltmesh")
    assert memo.digest(PILLAR, "state") != base


def test_test_mode_reads_but_never_writes(tmp_path):
    key = memo.digest(PILLAR, "state")
    compute = Counter()
    assert memo.cached(str(tmp_path), key, compute, write=False) == {"plan": 1}
    assert files(tmp_path) == []
    memo.cached(str(tmp_path), key, compute)
    assert memo.cached(str(tmp_path), key, compute, write=False) == {"plan": 2}
    assert compute.calls == 2


def test_errors_are_not_kept(tmp_path):
    key = memo.digest(PILLAR, "state")

    def broken():
        raise ValueError("bad pillar")

    try:
        memo.cached(str(tmp_path), key, broken)
    except ValueError:
        pass
    else:
        raise AssertionError("the error must reach the caller")
    assert files(tmp_path) == []


def test_unreadable_file_is_a_miss(tmp_path):
    key = memo.digest(PILLAR, "state")
    folder = tmp_path / "saltmesh" / "memo"
    folder.mkdir(parents=True)
    (folder / f"{key}.pickle").write_bytes(b"\x80\x05truncated")
    compute = Counter()
    assert memo.cached(str(tmp_path), key, compute) == {"plan": 1}
    assert memo.cached(str(tmp_path), key, compute) == {"plan": 1}
    mode = os.stat(folder / f"{key}.pickle").st_mode & 0o777
    assert mode == 0o600


def test_no_cachedir_no_memo():
    compute = Counter()
    memo.cached(None, "k", compute)
    memo.cached(None, "k", compute)
    assert compute.calls == 2


def test_only_the_newest_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "KEEP", 3)
    for i in range(5):
        memo.cached(str(tmp_path), f"k{i}", Counter())
        os.utime(tmp_path / "saltmesh" / "memo" / f"k{i}.pickle", ns=(i * 10**9, i * 10**9))
    memo.cached(str(tmp_path), "k5", Counter())
    assert files(tmp_path) == ["k3.pickle", "k4.pickle", "k5.pickle"]
