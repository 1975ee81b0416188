"""Step 8 of the day: the original story, told with a container that is its own minion.

mon01 is added to the pillar (pillar.example/minions.sls, on docker03, plugged into the mesh);
``salt docker03 state.sls containers`` starts it from ``saltmesh/minion`` (built by
``scripts/build-minion-image``) with a key pair the docker host made and announced, so it
registers without ``salt-key`` (the master has no ``auto_accept``); ``salt nagios01 state.sls
nagios.running`` puts it in Nagios under docker03 at once; its default NRPE checks go CRITICAL
(its NRPE allows nobody yet), Slack hears it; ``salt mon01 state.sls nagios.nrpe`` installs the
agent's configuration, the checks recover, Slack says RECOVERY.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from demo.day import NAGIOS_ID, Day, HostView, indent
from demo.saltd import wait_for
from tests.support import docker as dk
from tests.support import minion_image as mi
from tests.support.nagios import parse_blocks

NAME = "mon01"
HOST = "docker03"
ADDRESS = "192.168.77.41"
MAC = "02:77:00:00:00:41"
SERVICE_STATES = {"0": "OK", "1": "WARNING", "2": "CRITICAL", "3": "UNKNOWN"}


@dataclass
class ServiceView:
    description: str
    state: str
    hard: bool
    output: str
    last_check: int


@dataclass
class MinionFacts:
    name: str
    host: str
    image: str
    created: dict  # the containers state's changes for it
    registered_seconds: float
    key_line: str  # the master log's word on how its key got in
    auto_accept: bool  # the master's setting
    view: HostView
    before: dict[str, ServiceView]
    problems: list[dict]
    nrpe: list[str]  # comments of salt mon01 state.sls nagios.nrpe
    after: dict[str, ServiceView]
    recoveries: list[dict]


def server(day: Day, image: str) -> dict:
    """mon01 as pillar.example/minions.sls has it, with what this lab changes: the image's tag,
    the master's address and port, and a leg on the mesh (Nagios reaches its NRPE there)."""
    assert day.master is not None
    entry = yaml.safe_load((Path(__file__).parents[1] / "pillar.example/minions.sls").read_text())
    mon = entry["servers"][NAME]
    mon["address"] = ADDRESS
    mon["parents"] = HOST
    c = mon["container"]
    c.pop("ports", None)
    c["image"] = image
    c["minion"] = {"master": day.master.interface, "master_port": day.master.ret_port}
    c["network_mode"] = "bridge"  # eth0: Docker's NAT, to the master; eth1: the mesh
    c["networks"] = [{"bridge": "br-mesh", "ip": f"{ADDRESS}/24", "mac": MAC, "mtu": 1450}]
    return mon


def services(day: Day) -> dict[str, ServiceView]:
    assert day.nagios is not None
    out = {}
    for b in parse_blocks(day.nagios.status_file.read_text(), "servicestatus"):
        if b.get("host_name") != NAME:
            continue
        out[b["service_description"]] = ServiceView(
            description=b["service_description"],
            state=SERVICE_STATES.get(b.get("current_state", ""), "?")
            if b.get("has_been_checked") == "1"
            else "PENDING",
            hard=b.get("state_type") == "1",
            output=b.get("plugin_output", ""),
            last_check=int(b.get("last_check", "0") or 0),
        )
    return out


def wait_services(day: Day, state: str, timeout: float = 90) -> dict[str, ServiceView]:
    """Force checks of mon01's services until each says ``state`` in a check run after the
    force (or the time is up: then what Nagios says last)."""
    assert day.nagios is not None
    deadline = time.monotonic() + timeout
    since = day.nagios.force_service_checks(NAME)
    while True:
        views = services(day)
        fresh = [v for v in views.values() if v.last_check >= since]
        if views and len(fresh) == len(views):
            if all(v.state == state and v.hard for v in views.values()):
                return views
            since = day.nagios.force_service_checks(NAME)
        if time.monotonic() > deadline:
            return views
        time.sleep(0.5)


def about(post: dict, service: str, kind: str) -> bool:
    text = str(post.get("json", {}))
    return NAME in text and service in text and kind in text


def table(views: dict[str, ServiceView]) -> str:
    rows = [f"{'SERVICE':<12} {'STATE':<16} CHECK OUTPUT"]
    for v in views.values():
        state = f"{v.state} ({'hard' if v.hard else 'soft'})"
        rows.append(f"{v.description:<12} {state:<16} {v.output[:80]}")
    return "\n".join(rows)


def run(day: Day) -> MinionFacts:
    assert day.master is not None and day.nagios is not None and day.webhook is not None
    master, say = day.master, day.say
    t = time.monotonic()
    image = mi.image(log=lambda line: None)
    say(indent(f"image {image} (scripts/build-minion-image, {time.monotonic() - t:.0f} s; "
               "Debian minbase + Salt from PyPI + NRPE)"))  # fmt: skip

    # the heal schedule of docker03 would start mon01 by itself: here the operator does it
    day._heal([HOST], enable=False)
    entry = {"servers": {NAME: server(day, image)}}
    text = yaml.safe_dump(entry, sort_keys=False)
    (day.pillar_dir / "demo_minion.sls").write_text(text)
    top = yaml.safe_load((day.pillar_dir / "top.sls").read_text())
    top["base"]["*"].append("demo_minion")
    top["base"][NAME] = ["minion_nrpe"]
    (day.pillar_dir / "top.sls").write_text(yaml.safe_dump(top))
    say(indent(f"the pillar gains {NAME} ({day.pillar_dir}/demo_minion.sls; top.sls also gives "
               f"{NAME} minion_nrpe.sls):"))  # fmt: skip
    say(indent(text, "      "))

    day.shown(f"salt {HOST} state.sls containers")
    ret = master.salt_json(HOST, "state.sls", "containers", "queue=True")
    runs = ret.get(HOST) if isinstance(ret.get(HOST), dict) else {}
    (result,) = [r for r in runs.values() if r.get("__id__") == "saltmesh-containers"] or [{}]
    created = (result.get("changes") or {}).get(NAME, {})
    say(indent(yaml.safe_dump({NAME: created}, sort_keys=False), "      "))
    t0 = time.monotonic()

    def answers() -> bool:
        return master.salt_json(NAME, "test.ping", timeout=5).get(NAME) is True

    wait_for(answers, 240, f"{NAME} to answer test.ping", step=1)
    registered = time.monotonic() - t0
    log = (Path(master.config["root_dir"]) / "var/log/salt/master").read_text(errors="replace")
    key_line = next(
        (ln.split("]", 4)[-1].strip() for ln in log.splitlines() if f"key of {NAME}" in ln), ""
    )
    keys = master.cli("salt-key", "-L").stdout
    day.shown("salt-key -L", keys)
    say(indent(f"{NAME} answers test.ping {registered:.0f} s after it was started; nobody ran "
               f"salt-key (auto_accept: False). The master's log:\n  {key_line}"))  # fmt: skip

    day.shown(f"salt {NAGIOS_ID} state.sls nagios.running")
    ret = master.salt_json(NAGIOS_ID, "state.sls", "nagios.running")
    comments = [r.get("comment", "") for r in ret.get(NAGIOS_ID, {}).values() if r.get("changes")]
    say(indent("\n".join(c.splitlines()[0] for c in comments if c) or "(no change)", "      "))
    since = day.nagios.force_checks([NAME])
    day.nagios.wait_checked([NAME], since)
    time.sleep(2.5)
    view = day._view([NAME])[NAME]
    say(indent(f"Nagios: {NAME} {view.state}, parents {view.parents or '-'}, "
               f"address {view.address}"))  # fmt: skip
    before = wait_services(day, "CRITICAL")
    say(indent(f"its default services, forced checks (check_nrpe over the mesh):\n"
               f"{table(before)}"))  # fmt: skip
    problems = [day.webhook.wait_for(lambda p, s=s: about(p, s, "PROBLEM")) for s in sorted(before)]
    say(indent("the webhook receiver got:"))
    for post in problems:
        day._show_post(post)

    day.shown(f"salt {NAME} saltutil.sync_all; salt {NAME} state.sls nagios.nrpe")
    master.salt_json(NAME, "saltutil.sync_all")
    ret = master.salt_json(NAME, "state.sls", "nagios.nrpe")
    nrpe = [
        f"{r.get('__id__')}: {r.get('comment', '').splitlines()[0] if r.get('comment') else ''}"
        for r in ret.get(NAME, {}).values()
        if isinstance(r, dict)
    ]
    say(indent("\n".join(nrpe), "      "))
    after = wait_services(day, "OK")
    say(indent(f"forced checks again:\n{table(after)}"))
    recoveries = [
        day.webhook.wait_for(lambda p, s=s: about(p, s, "RECOVERY")) for s in sorted(after)
    ]
    say(indent("the webhook receiver got:"))
    for post in recoveries:
        day._show_post(post)
    day._heal([HOST], enable=True)
    return MinionFacts(
        name=NAME, host=HOST, image=image, created=created, registered_seconds=registered,
        key_line=key_line, auto_accept=master.config["auto_accept"], view=view, before=before,
        problems=problems, nrpe=nrpe, after=after, recoveries=recoveries,
    )  # fmt: skip


def remove(hosts: list[str]) -> None:
    """mon01, if a docker host of this demo runs it (by name, label and image)."""
    info = dk.inspect(NAME)
    if not info:
        return
    labels = info["Config"].get("Labels") or {}
    if labels.get("saltmesh.host") in hosts and info["Config"]["Image"].startswith(
        "saltmesh/minion:"
    ):
        dk.docker("rm", "-f", NAME, check=False)
