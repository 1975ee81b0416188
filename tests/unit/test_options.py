"""saltmesh.options: config.get's answers, read without copying Salt's dicts."""

from saltmesh import options


class Guarded(dict):
    """A dict whose ``[]`` fails: Salt 3008's proxies deep-copy on ``[]`` of a nested value."""

    def __getitem__(self, key):
        raise AssertionError(f"[{key!r}] would copy the mapping")


def test_config_get_order_and_default():
    opts = {"saltmesh": {"ovsdb": "unix:/opts.sock"}}
    grains = {"saltmesh": {"netns": "ns-grains"}}
    pillar = {"saltmesh": {"netns": "ns-pillar", "ovs_batch": False}, "master": {"x": {"y": 1}}}
    get = options.getter(opts, grains, pillar)
    assert get("saltmesh:ovsdb") == "unix:/opts.sock"
    assert get("saltmesh:netns") == "ns-grains"  # grains before pillar
    assert get("saltmesh:ovs_batch", True) is False  # a false value is a value
    assert get("x:y") == 1  # the master's options as the pillar carries them
    assert get("saltmesh:ovs_rundir") == ""  # config.get's default
    assert get("saltmesh:ovsdb_timeout", 30) == 30
    assert get("saltmesh:ovsdb:deeper") == ""  # a string is not traversed


def test_reads_with_get_only():
    pillar = Guarded(saltmesh=Guarded(mesh={"topology": "flow"}), servers=Guarded(a={}))
    get = options.getter(Guarded(), None, pillar)
    assert get("saltmesh:mesh:topology") == "flow"
    assert get("saltmesh:missing", None) is None


def test_sdb_uri_goes_to_salt():
    calls = []

    def config_get(key, default=""):
        calls.append(key)
        return "resolved"

    get = options.getter({"saltmesh": {"ovsdb": "sdb://vault/ovsdb"}}, {}, {}, config_get)
    assert get("saltmesh:ovsdb") == "resolved" and calls == ["saltmesh:ovsdb"]


def test_of_module_reads_a_loader_modules_globals():
    dunders = {"__opts__": {"saltmesh": {"netns": "ns1"}}, "__pillar__": {"saltmesh": {"x": 1}}}
    get = options.of_module(dunders)  # no __grains__, no __salt__ (as during __virtual__)
    assert get("saltmesh:netns") == "ns1" and get("saltmesh:x") == 1
    assert get("saltmesh:missing", None) is None


def test_flag_reads_strings_as_a_user_means_them():
    for off in (False, "false", "False", "no", "off", "0", 0):
        assert options.flag(off, True) is False, off
    for on in (True, "true", "yes", "on", "1", 1):
        assert options.flag(on, False) is True, on
    assert options.flag(None, True) is True and options.flag("", False) is False
