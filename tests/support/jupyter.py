"""A student's browser, in a few functions: log in with the password form, use the REST API and a kernel websocket."""

from __future__ import annotations

import json
import time
import uuid

import requests


def wait_for_api(url: str, timeout: float = 60.0, verify: bool = True) -> float:
    """Poll ``<url>/api`` until the server answers 200; return the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            if requests.get(f"{url}/api", timeout=2, verify=verify).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{url}/api did not answer within {timeout} s")
        time.sleep(0.02)


def login(url: str, password: str, verify: bool = True) -> requests.Session:
    """Log in through the form as a browser does (GET /login for the _xsrf cookie, POST the password)."""
    session = requests.Session()
    session.verify = verify
    session.get(f"{url}/login", timeout=10)
    xsrf = session.cookies.get("_xsrf", "")
    r = session.post(f"{url}/login", data={"password": password, "_xsrf": xsrf}, allow_redirects=False, timeout=30)
    if r.status_code != 302:
        raise PermissionError(f"login refused ({r.status_code})")
    session.headers["X-XSRFToken"] = session.cookies.get("_xsrf", xsrf)
    return session


def run_code(session: requests.Session, url: str, code: str, timeout: float = 60.0, kernel: str = "python3") -> str:
    """Start a ``kernel`` through the REST API, evaluate ``code`` over its websocket, return the text result
    (the execute_result's text, or what the code printed when it has none, as Octave's kernel does)."""
    import websocket

    started = session.post(f"{url}/api/kernels", json={"name": kernel}, timeout=30)
    started.raise_for_status()
    kid = started.json()["id"]
    ws_url = url.replace("http", "ws", 1) + f"/api/kernels/{kid}/channels"
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = websocket.create_connection(ws_url, header=[f"Cookie: {cookie}"], timeout=timeout,
                                     origin=url, sslopt={"cert_reqs": 0})
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "student", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False},
        }))
        deadline = time.monotonic() + timeout
        result, printed = None, []
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] in ("execute_result", "display_data"):  # IRkernel shows values as display_data
                result = msg["content"]["data"]["text/plain"]
            elif msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise RuntimeError(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return result if result is not None else "".join(printed).strip()
        raise TimeoutError("no result from the kernel")
    finally:
        ws.close()
        session.delete(f"{url}/api/kernels/{kid}", timeout=30)
