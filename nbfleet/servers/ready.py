"""Wait until students' servers answer over HTTP, as their browsers will reach them (many at once, in threads)."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterable

from .. import threads


def answers(url: str, timeout: float = 3.0) -> bool:
    """True when a server answers at ``url`` (any HTTP status below 500 on its login page)."""
    import requests

    try:
        r = requests.get(urllib.parse.urljoin(url, "login"), timeout=timeout, verify=False, allow_redirects=False)
    except requests.RequestException:
        return False
    return r.status_code < 500


def wait_until_answering(urls: Iterable[str], deadline: float, on_ready: Callable[[str], None] | None = None,
                         workers: int = 16, gone: Callable[[str], str] | None = None) -> dict[str, str]:
    """Poll every URL until it answers or ``deadline`` (time.monotonic()) passes.

    Returns {url: reason} for the servers that never answered. ``gone(url)``, asked every few seconds while a
    server is silent, returns a reason when waiting is pointless (its container exited), else "".
    """
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # self-signed course certificates

    def one(url: str) -> str:
        delay, next_check = 0.1, time.monotonic() + 3
        while True:
            if answers(url, timeout=min(3.0, max(deadline - time.monotonic(), 0.1))):
                if on_ready:
                    on_ready(url)
                return ""
            if time.monotonic() >= deadline:
                return f"no answer at {url}"
            if gone and time.monotonic() >= next_check:
                reason = gone(url)
                if reason:
                    return reason
                next_check = time.monotonic() + 3
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    urls = list(urls)
    if not urls:
        return {}
    return {u: why for u, why in zip(urls, threads.each(one, urls, workers), strict=True) if why}
