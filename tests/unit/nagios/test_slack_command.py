"""The Slack notification command is safe whatever a check prints (pure part of the proof).

Nagios splits a command line itself (``runcmd_cmd2strv``) and only hands it to ``/bin/sh -c``
when it sees a shell metacharacter outside quotes. The rendered lines carry no free text, every
argument single-quoted, and only macros whose values the validator restricts, so Nagios never
starts a shell for them; the plugin output goes from status.dat to the script, exactly.
The same proof with a running nagios4: tests/integration/nagios/test_reliability.py.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.nagios.build import (
    SLACK_HOST_COMMAND,
    SLACK_MACROS,
    SLACK_SERVICE_COMMAND,
    build_objects,
    slack_command_lines,
)
from saltmesh.nagios.settings import parse_settings
from tests.support.nagios import SlackRecorder, expand_macros, runcmd_cmd2strv
from tests.unit.nagios import sample

pytestmark = pytest.mark.reliability

REPO = Path(__file__).resolve().parents[3]
NOTIFICATION_TYPES = (
    "PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT", "FLAPPINGSTART", "FLAPPINGSTOP",
    "FLAPPINGDISABLED", "DOWNTIMESTART", "DOWNTIMEEND", "DOWNTIMECANCELLED", "CUSTOM",
)  # fmt: skip
STATES = ("UP", "DOWN", "UNREACHABLE", "OK", "WARNING", "CRITICAL", "UNKNOWN")


def script():
    spec = importlib.util.spec_from_file_location(
        "slack_notify", REPO / "salt" / "nagios" / "files" / "slack_notify.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lines(data=None) -> dict[str, str]:
    return slack_command_lines(parse_settings(data or sample.pillar()))


def test_only_restricted_macros_reach_the_command_line():
    for line in lines().values():
        assert set(re.findall(r"\$([A-Z0-9_]+)\$", line)) <= SLACK_MACROS
        assert "OUTPUT" not in line and "$ARG" not in line
    assert {"HOSTOUTPUT", "SERVICEOUTPUT", "LONGSERVICEOUTPUT"}.isdisjoint(SLACK_MACROS)


def test_rendered_lines_run_without_a_shell_with_the_expected_argv():
    line = lines()[SLACK_SERVICE_COMMAND]
    macros = {
        "NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "web01", "SERVICEDESC": "Current Load",
        "SERVICESTATE": "CRITICAL", "LASTSERVICECHECK": "1700000000",
    }  # fmt: skip
    flags, argv = runcmd_cmd2strv(expand_macros(line, macros))
    assert flags == 0
    assert argv == [
        "/usr/bin/python3", "/usr/local/lib/saltmesh/nagios-slack-notify",
        "--url-file=/etc/nagios4/saltmesh-slack.url", "--main-config=/etc/nagios4/nagios.cfg",
        "--channel=#ops", "--kind=service", "--type=PROBLEM", "--host=web01",
        "--service=Current Load", "--state=CRITICAL", "--check-time=1700000000",
    ]  # fmt: skip
    args = script().parse_args(argv[2:])
    assert (args.host, args.service, args.check_time) == ("web01", "Current Load", 1700000000)


def test_the_old_command_line_was_not_safe():
    """What this guards against: free text in double quotes made Nagios start a shell."""
    old = '/usr/bin/python3 /x --host "$HOSTNAME$" --output "$SERVICEOUTPUT$"'
    flags, _ = runcmd_cmd2strv(
        expand_macros(old, {"HOSTNAME": "web01", "SERVICEOUTPUT": "$(touch /tmp/x)"})
    )
    assert flags != 0


_descriptions = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("é\t\n;#$`'\""),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    description=_descriptions,
    kind=st.sampled_from(NOTIFICATION_TYPES),
    state=st.sampled_from(STATES),
    check_time=st.integers(0, 2**40),
)
def test_any_name_the_validator_accepts_runs_without_a_shell(description, kind, state, check_time):
    data = sample.pillar()
    data["servers"]["web01"]["services"] = {description: {"check_command": "check_http"}}
    settings_ = parse_settings(data)
    try:
        inv = inventory.parse(data, external_hosts=sample.KNOWN.hosts)
        build_objects(inv, settings_, sample.KNOWN, "")  # the main config's set: empty
    except PillarError:
        return  # refused before anything is written: nothing reaches Nagios
    macros = {
        "NOTIFICATIONTYPE": kind, "HOSTNAME": "web01", "SERVICEDESC": description,
        "SERVICESTATE": state, "LASTSERVICECHECK": str(check_time),
        "HOSTSTATE": state, "LASTHOSTCHECK": str(check_time),
    }  # fmt: skip
    for name, line in slack_command_lines(settings_).items():
        flags, argv = runcmd_cmd2strv(expand_macros(line, macros))
        assert flags == 0, (name, line)
        args = script().parse_args(argv[2:])
        assert (args.type, args.host, args.state) == (kind, "web01", state)
        if name == SLACK_HOST_COMMAND:
            assert args.kind == "host"
        else:
            assert (args.kind, args.service, args.check_time) == (
                "service",
                description,
                check_time,
            )


# --- the script reads the output from status.dat, exactly


def nagios_status(host: str, service: str, output: str, last_check: int) -> str:
    """A status.dat block as Nagios 4.4 writes it for a check that printed ``output``."""
    first, _, rest = output.partition("\n")
    long_text = rest.replace("\\", "\\\\").replace("\n", "\\n")
    return (
        "info {\n\tcreated=1\n\t}\n\n"
        f"hoststatus {{\n\thost_name={host}\n\tplugin_output=up\n\tlast_check=5\n\t}}\n\n"
        f"servicestatus {{\n\thost_name={host}\n\tservice_description={service}\n"
        f"\tlast_check={last_check}\n\tplugin_output={first.strip()}\n"
        f"\tlong_plugin_output={long_text}\n\t}}\n"
    )


NASTY = [
    "-x --url-file /etc/passwd",
    "it's \"quoted\" and 'single'",
    "$(touch /tmp/x) `touch /tmp/y` ${HOME} $$ $USER1$",
    "a; touch /tmp/z; b & c > /tmp/w < /etc/passwd",
    "x' ; touch /tmp/q ; echo '",
    "first line\nsecond $(line)\n\\n is not a newline \\\\",
    "héllo wörld ✓",
]


@pytest.fixture
def main_config(tmp_path):
    cfg = tmp_path / "nagios.cfg"
    cfg.write_text("status_file=status.dat\nstatus_update_interval=1\n")
    return cfg


def _args(main_config, check_time=100, service="HTTP"):
    return script().parse_args(
        [f"--url-file={main_config.parent / 'url'}", f"--main-config={main_config}",
         "--kind=service", "--host=web01", f"--service={service}", "--state=CRITICAL",
         f"--check-time={check_time}"]
    )  # fmt: skip


@pytest.mark.parametrize("output", NASTY)
def test_script_reads_the_exact_output(main_config, output):
    (main_config.parent / "status.dat").write_text(nagios_status("web01", "HTTP", output, 100))
    assert script().plugin_output(_args(main_config)) == output


@settings(max_examples=200, deadline=None)
@given(output=st.text(min_size=1).map(lambda t: t.replace("\r", "").strip()).filter(bool))
def test_script_reads_any_output_exactly(tmp_path_factory, output):
    tmp = tmp_path_factory.mktemp("status")
    cfg = tmp / "nagios.cfg"
    cfg.write_text(f"status_file={tmp}/status.dat\n")
    first, sep, rest = output.partition("\n")
    if "|" in output or "\x00" in output or first != first.strip():
        return  # Nagios itself splits perfdata at '|' and strips the first line
    (tmp / "status.dat").write_text(nagios_status("web01", "HTTP", output, 7))
    assert script().plugin_output(_args(cfg, check_time=7)) == output


def test_script_waits_for_the_status_of_this_check(main_config):
    status = main_config.parent / "status.dat"
    status.write_text(nagios_status("web01", "HTTP", "old", 99))
    now = [0.0]

    def sleep(seconds):  # Nagios writes the new status while the script waits
        now[0] += seconds
        if now[0] >= 1:
            status.write_text(nagios_status("web01", "HTTP", "new $(x)", 100))

    mod = script()
    assert mod.plugin_output(_args(main_config), sleep=sleep, clock=lambda: now[0]) == "new $(x)"
    assert 1 <= now[0] < 2
    # never past the deadline: then the latest output there is, or a note
    now[0] = 0.0
    status.write_text(nagios_status("web01", "HTTP", "old", 99))
    assert mod.plugin_output(_args(main_config), sleep=lambda s: None, clock=iter(
        [0.0, 0.0, 99.0]).__next__) == "old"  # fmt: skip
    status.unlink()
    got = mod.plugin_output(_args(main_config), sleep=lambda s: None, clock=iter(
        [0.0, 0.0, 99.0]).__next__)  # fmt: skip
    assert got.startswith("(plugin output unknown: no status for it in ")


def test_script_posts_the_exact_output(main_config):
    rec = SlackRecorder().start()
    try:
        (main_config.parent / "url").write_text(rec.url + "\n")
        output = NASTY[5]
        status = nagios_status("web01", "Disk root", output, 100)
        (main_config.parent / "status.dat").write_text(status)
        argv = [
            f"--url-file={main_config.parent / 'url'}", f"--main-config={main_config}",
            "--kind=service", "--type=PROBLEM", "--host=web01", "--service=Disk root",
            "--state=CRITICAL", "--check-time=100", "--channel=#ops",
        ]  # fmt: skip
        assert script().main(argv) == 0
        post = rec.wait_for(lambda p: True, timeout=5)["json"]
        assert post["attachments"][0]["text"] == output
        assert post["attachments"][0]["title"] == "PROBLEM: web01/Disk root is CRITICAL"
        assert post["channel"] == "#ops"
    finally:
        rec.stop()
    # Slack unreachable: exit 1, and the message names the host, not the secret path
    assert script().main(argv) == 1


def test_script_errors_never_show_the_url(main_config, capsys):
    (main_config.parent / "url").write_text("http://127.0.0.1:9/services/T/B/SECRET\n")
    (main_config.parent / "status.dat").write_text(nagios_status("web01", "HTTP", "x", 100))
    argv = [f"--url-file={main_config.parent / 'url'}", f"--main-config={main_config}",
            "--kind=service", "--host=web01", "--service=HTTP", "--state=OK", "--timeout=2"]  # fmt: skip
    assert script().main(argv) == 1
    err = capsys.readouterr().err
    assert "SECRET" not in err and "posting to http://127.0.0.1:9/..." in err, err
    assert script().main(["--url-file=/nonexistent", "--kind=host", "--host=h", "--state=UP"]) == 2
