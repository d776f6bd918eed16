"""Run saved queries through grlc (its own Flask app, local mode), in grlc's own environment.

Usage (from a directory holding grlc's config.ini): python grlc_probe.py CALLS.json; CALLS is a
list of [query name, {parameter: value}]; prints one JSON line per call: name, status, body.
grlc reads config.ini from the working directory when it is imported.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from grlc.server import app

    client = app.test_client()
    for name, params in json.loads(open(sys.argv[1], encoding="utf-8").read()):
        response = client.get(f"/api-local/{name}", query_string=params, headers={"Accept": "application/json"})
        print(json.dumps({"name": name, "status": response.status_code, "body": response.get_data(as_text=True)}),
              flush=True)


if __name__ == "__main__":
    main()
