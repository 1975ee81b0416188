#!/usr/bin/env python3
"""Post a Nagios notification to a Slack incoming webhook (installed by saltmesh nagios.running).

Nagios runs it from the saltmesh-notify-{host,service}-slack commands:

    slack-notify --url-file=/etc/nagios4/saltmesh-slack.url --main-config=/etc/nagios4/nagios.cfg \
        --kind=service --type=PROBLEM --host=web01 --service=HTTP --state=CRITICAL \
        --check-time=1700000000

The command line carries no free text: only fixed words, numbers and object names (every
argument single-quoted, so Nagios runs it without a shell). The plugin output, which a check
may fill with anything (quotes, '$(...)', backquotes, a leading '-', line breaks), is read here
from Nagios' status file (``status_file`` of the main config): the status of the same host or
service, once its ``last_check`` has reached --check-time. Nagios rewrites that file every
``status_update_interval`` seconds, so a notification may wait that long; it never waits past
``notification_timeout`` (minus a margin). Neither ``illegal_macro_output_chars`` nor
``enable_environment_macros`` matters: the text arrives exactly as the check printed it.

The webhook URL is read from --url-file (mode 0640, root:nagios) so it never shows in the
process list or the Nagios configuration, and error messages name only its host.
Exit status: 0 posted, 1 Slack (or the network) refused it, 2 bad arguments or URL file.
"""

import argparse
import os
import sys
import time
from urllib.parse import urlsplit

import requests

COLOURS = {
    "UP": "good",
    "OK": "good",
    "WARNING": "warning",
    "UNKNOWN": "#9e9e9e",
    "DOWN": "danger",
    "UNREACHABLE": "danger",
    "CRITICAL": "danger",
}
ICONS = {"good": ":large_green_circle:", "warning": ":warning:", "danger": ":red_circle:"}
MARGIN = 5  # seconds left to post before Nagios' notification_timeout


def read_main_config(path: str) -> dict:
    """``key=value`` settings of nagios.cfg (the last one wins)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if line and line[0] not in "#;" and "=" in line:
                key, value = line.split("=", 1)
                out[key.strip()] = value.strip()
    return out


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def status_files(main_config: str) -> tuple:
    """(status file path, seconds to wait for it at most) from the main config."""
    cfg = read_main_config(main_config)
    path = cfg.get("status_file", "/var/lib/nagios4/status.dat")
    path = os.path.join(os.path.dirname(main_config), path)  # relative to the main config
    interval = _int(cfg.get("status_update_interval"), 10)
    timeout = _int(cfg.get("notification_timeout"), 30)
    return os.path.normpath(path), max(1, min(2 * interval + 2, timeout - MARGIN))


def unescape(text: str) -> str:
    """Undo Nagios' escape_newlines (long_plugin_output): ``\\\\`` and ``\\n``."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "\\n":
            out.append("\n" if text[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def find_status(text: str, kind: str, host: str, service: str):
    """The ``hoststatus``/``servicestatus`` block of status.dat for this object, as a dict."""
    block_name = "hoststatus" if kind == "host" else "servicestatus"
    block = None
    for line in text.split("\n"):
        if block is None:
            if line.strip() == block_name + " {":
                block = {}
        elif line.strip() == "}":
            if block.get("host_name") == host and (
                kind == "host" or block.get("service_description") == service
            ):
                return block
            block = None
        elif "=" in line:
            key, value = line.lstrip("\t ").split("=", 1)
            block[key] = value
    return None


def plugin_output(args: argparse.Namespace, sleep=time.sleep, clock=time.monotonic) -> str:
    """The output of the check this notification is about, exactly as the plugin printed it
    (first line, then the long output); waits until status.dat shows that check."""
    try:
        path, wait = status_files(args.main_config)
    except OSError as err:
        return f"(plugin output unknown: cannot read {args.main_config}: {err.strerror})"
    deadline = clock() + wait
    block = None
    while True:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                block = find_status(fh.read(), args.kind, args.host, args.service) or block
        except OSError:
            pass
        if block is not None and _int(block.get("last_check"), 0) >= args.check_time:
            break
        if clock() >= deadline:
            if block is None:
                return f"(plugin output unknown: no status for it in {path})"
            break  # an older check's output is better than none
        sleep(0.25)
    text = block.get("plugin_output", "")
    long_text = unescape(block.get("long_plugin_output", ""))
    return f"{text}\n{long_text}" if long_text else text


def build_payload(args: argparse.Namespace, output: str) -> dict:
    state = args.state.upper()
    colour = COLOURS.get(state, "#9e9e9e")
    subject = f"{args.host}/{args.service}" if args.kind == "service" else args.host
    title = f"{args.type}: {subject} is {state}"
    fields = [
        {"title": "Host", "value": args.host, "short": True},
        {"title": "State", "value": state, "short": True},
    ]
    if args.kind == "service":
        fields.insert(1, {"title": "Service", "value": args.service, "short": True})
    payload = {
        "text": f"{ICONS.get(colour, ':grey_question:')} {title}",
        "attachments": [
            {
                "fallback": f"{title}: {output}",
                "color": colour,
                "title": title,
                "text": output,
                "fields": fields,
                "footer": "Nagios via saltmesh",
            }
        ],
    }
    if args.channel:
        payload["channel"] = args.channel
    if args.username:
        payload["username"] = args.username
    return payload


def redact(url: str) -> str:
    """The webhook URL without its secret path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/..."


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url-file", required=True)
    parser.add_argument("--main-config", default="/etc/nagios4/nagios.cfg")
    parser.add_argument("--kind", choices=("host", "service"), required=True)
    parser.add_argument("--type", default="PROBLEM", help="$NOTIFICATIONTYPE$")
    parser.add_argument("--host", required=True)
    parser.add_argument("--service", default="")
    parser.add_argument("--state", required=True)
    parser.add_argument("--check-time", type=int, default=0, help="$LAST{HOST,SERVICE}CHECK$")
    parser.add_argument("--channel")
    parser.add_argument("--username")
    parser.add_argument("--timeout", type=float, default=10.0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        with open(args.url_file, encoding="utf-8") as fh:
            url = fh.read().strip()
    except OSError as err:
        print(f"slack-notify: cannot read {args.url_file}: {err.strerror}", file=sys.stderr)
        return 2
    if not url.startswith(("https://", "http://")):
        print(f"slack-notify: {args.url_file} does not hold a webhook URL", file=sys.stderr)
        return 2
    payload = build_payload(args, plugin_output(args))
    try:
        resp = requests.post(url, json=payload, timeout=args.timeout)
    except requests.RequestException as err:
        print(f"slack-notify: {type(err).__name__} posting to {redact(url)}", file=sys.stderr)
        return 1
    if resp.status_code >= 300:
        print(f"slack-notify: HTTP {resp.status_code}: {resp.text[:200]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
