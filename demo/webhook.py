"""The demo's stand-in for Slack: an incoming-webhook receiver that records every POST.

    python demo/webhook.py --port 8080 --log posts.jsonl [--ready ready-file]

Each POST is appended to ``--log`` as one JSON line ``{"time", "path", "json"}`` and its text
printed; the answer is ``200 ok``, as Slack's. The demo runs it in nagios01's network
namespace, where Nagios' notification script reaches it at http://127.0.0.1:<port>/.
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--log", type=Path, required=True)
    ap.add_argument("--ready", type=Path, help="written once the port is bound")
    args = ap.parse_args(argv)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = {"raw": body.decode(errors="replace")}
            record = {"time": time.time(), "path": self.path, "json": data}
            with open(args.log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            text = data.get("text", "") if isinstance(data, dict) else ""
            print(f"webhook {self.path}: {text}", flush=True)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    args.log.touch()
    if args.ready:
        args.ready.write_text(str(args.port))
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
