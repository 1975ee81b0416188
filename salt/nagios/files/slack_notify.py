#!/usr/bin/env python3
"""Post a Nagios notification to a Slack incoming webhook (installed by saltmesh nagios.running).

Nagios runs it from the saltmesh-notify-{host,service}-slack commands, with macros as arguments:

    slack-notify --url-file /etc/nagios4/saltmesh-slack.url --kind service --type PROBLEM \
        --host web01 --service HTTP --state CRITICAL --output "connection refused"

The webhook URL is read from --url-file (mode 0640, root:nagios) so it never shows in the
process list or the Nagios configuration. The message is an attachment coloured by state.
Exit status: 0 posted, 1 Slack (or the network) refused it, 2 bad arguments or URL file.
"""

import argparse
import sys

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


def build_payload(args: argparse.Namespace) -> dict:
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
                "fallback": f"{title}: {args.output}",
                "color": colour,
                "title": title,
                "text": args.output,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url-file", required=True)
    parser.add_argument("--kind", choices=("host", "service"), required=True)
    parser.add_argument("--type", default="PROBLEM", help="$NOTIFICATIONTYPE$")
    parser.add_argument("--host", required=True)
    parser.add_argument("--service", default="")
    parser.add_argument("--state", required=True)
    parser.add_argument("--output", default="")
    parser.add_argument("--channel")
    parser.add_argument("--username")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        with open(args.url_file, encoding="utf-8") as fh:
            url = fh.read().strip()
    except OSError as err:
        print(f"slack-notify: cannot read {args.url_file}: {err.strerror}", file=sys.stderr)
        return 2
    if not url.startswith(("https://", "http://")):
        print(f"slack-notify: {args.url_file} does not hold a webhook URL", file=sys.stderr)
        return 2
    try:
        resp = requests.post(url, json=build_payload(args), timeout=args.timeout)
    except requests.RequestException as err:
        print(f"slack-notify: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    if resp.status_code >= 300:
        print(f"slack-notify: HTTP {resp.status_code}: {resp.text[:200]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
