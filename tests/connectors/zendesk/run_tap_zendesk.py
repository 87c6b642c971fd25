"""Run the unmodified tap-zendesk against a Zendesk sandbox (a manual check, not a test).

tap-zendesk and zenpy build every URL as ``https://{subdomain}.zendesk.com/...``. This wrapper
changes only that base, then hands its arguments to the tap's own ``main``: for zenpy through
its own override (``ZENPY_FORCE_SCHEME``/``ZENPY_FORCE_NETLOC``; zenpy only parses responses
whose URL contains its base URL), and for the tap's direct calls in the two HTTP stacks it
uses (requests, and aiohttp for ticket audits). Run it with the Python that has tap-zendesk
installed (a separate venv, not the project's)::

    python run_tap_zendesk.py http://127.0.0.1:8081 --config config.json --discover

The subdomain is read from the config file. See docs/connectors.md ("Checking real clients").
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _rewriter(subdomain: str, base_url: str) -> Any:
    vendor_base = f"https://{subdomain}.zendesk.com"

    def rewrite(address: str) -> str:
        if address.startswith(vendor_base):
            return base_url.rstrip("/") + address[len(vendor_base) :]
        return address

    return rewrite


def _patch(base_url: str, subdomain: str) -> None:
    import aiohttp
    import requests.adapters

    rewrite = _rewriter(subdomain, base_url)
    send = requests.adapters.HTTPAdapter.send

    def send_to_sandbox(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        request.url = rewrite(request.url)
        return send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = send_to_sandbox  # type: ignore[method-assign]
    aiohttp_request = aiohttp.ClientSession._request

    def request_to_sandbox(self: Any, method: str, address: Any, *args: Any, **kwargs: Any) -> Any:
        return aiohttp_request(self, method, rewrite(str(address)), *args, **kwargs)

    aiohttp.ClientSession._request = request_to_sandbox  # type: ignore[method-assign]


def main() -> None:
    base_url, tap_args = sys.argv[1], sys.argv[2:]
    config_path = tap_args[tap_args.index("--config") + 1]
    with open(config_path, encoding="utf-8") as config_file:
        subdomain = json.load(config_file)["subdomain"]
    scheme, _, netloc = base_url.rstrip("/").partition("://")
    os.environ["ZENPY_FORCE_SCHEME"], os.environ["ZENPY_FORCE_NETLOC"] = scheme, netloc
    _patch(base_url, subdomain)
    import tap_zendesk

    sys.argv = ["tap-zendesk", *tap_args]
    tap_zendesk.main()


if __name__ == "__main__":
    main()
