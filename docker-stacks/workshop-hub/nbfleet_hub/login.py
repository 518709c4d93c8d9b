"""The workshop's login: every visitor without an account is handed a temporary user whose server already runs.

``/hub/workshop`` (the hub's default URL and its login URL) gives a returning visitor (the hub's cookie) their own
server back, and a new visitor a free server of the warm pool: the user moves from group ``pool`` to ``visitors``
in one step of the hub's event loop, so two visitors arriving together never get the same one. When every place
is taken the answer is a page saying so, with HTTP 429 and Retry-After, never a spinner.

One client address holds at most ``per_client`` servers: a script that throws its cookies away gets the same page
after that many, however often it comes back. The address is the one configurable-http-proxy saw: the last entry of
X-Forwarded-For, which the proxy appends, and only on requests that come from the proxy's own address; whatever a
client wrote into that header itself comes before it and is never read. The address a server was handed to is kept in
its ``user_options`` (in the hub's database), so a restarted hub still counts it.
"""

from __future__ import annotations

import asyncio
import time
from html import escape

from jupyterhub import orm
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from jupyterhub.utils import url_path_join, utcnow

from .pool import POOL_GROUP, VISITOR_GROUP, settings

FULL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="refresh" content="60"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>{title}</h1><p>{text}</p><p>This page tries again by itself in a minute.</p></body></html>
"""


def client_address(request, proxy_ip: str) -> str:
    """The visitor's address as configurable-http-proxy saw it (the entry it appended to X-Forwarded-For), for a
    request that came from the proxy; the connection's own address for any other."""
    peer = str(request.connection.context.address[0])
    if peer.removeprefix("::ffff:") == proxy_ip:
        forwarded = ",".join(request.headers.get_list("X-Forwarded-For"))
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last.removeprefix("::ffff:")
    return peer.removeprefix("::ffff:")


class WorkshopHandler(BaseHandler):
    """GET /hub/workshop: to your own running server, or to a new one from the pool, or a clear 'full'."""

    async def get(self):
        w = settings()
        user = self.current_user
        if user is not None and user.spawner.active:
            if user.spawner.pending or await user.spawner.poll() is None:
                self.redirect(url_path_join(user.url, "lab"))
                return
        if user is not None:  # their server was culled or crashed: a new one, the old user goes
            self.log.info("visitor %s lost their server: handing out a new one", user.name)
            self._leave(user)
        user = await self._hand_out(w)
        if user is None:
            return
        self.set_login_cookie(user)
        self.redirect(url_path_join(user.url, "lab"))

    async def _hand_out(self, w: dict):
        """A free, current pool server for this visitor; waits a little while the pool refills."""
        deadline = time.monotonic() + w.get("wait_for_pool", 30)
        client = client_address(self.request, w["proxy_ip"])
        self._warn_if_not_from_proxy(w["proxy_ip"])
        while True:
            visitors, free = self._groups()
            live = [self.users[u] for u in visitors.users if self.users[u].spawner.active]
            if len(live) >= w["max_visitors"]:
                self._full("The workshop is full",
                           f"All {w['max_visitors']} places are taken right now. Please try again in a minute.")
                return None
            held = sum(1 for u in live if (u.spawner.user_options or {}).get("client") == client)
            if held >= w["per_client"]:
                self.log.warning("client %s refused: it holds %d servers, the most one address may have", client, held)
                self._full("The workshop is full",
                           f"Your address already has {held} servers of this workshop, the most one address may have. "
                           "Please go back to the tab where you work, or ask the organisers.")
                return None
            for orm_user in list(free.users):
                user = self.users[orm_user]
                spawner = user.spawner
                if spawner.ready and (spawner.user_options or {}).get("generation") == w["generation"]:
                    # No await between finding and taking it: no other visitor can take the same one.
                    free.users.remove(orm_user)
                    visitors.users.append(orm_user)
                    options = {**(spawner.user_options or {}), "client": client}
                    spawner.user_options = spawner.orm_spawner.user_options = options
                    now = utcnow(with_tz=False)
                    # The visitor's time starts now (idle timeout, max age), not when the pool started it.
                    orm_user.last_activity = spawner.orm_spawner.last_activity = now
                    spawner.orm_spawner.started = now
                    self.db.commit()
                    self.log.info("visitor at %s got %s (%d of %d places taken)", client, user.name, len(live) + 1,
                                  w["max_visitors"])
                    return user
            if time.monotonic() > deadline:
                self._full("All servers are starting",
                           "Many people arrived at once and the next servers are still starting. Please try again in a minute.")
                return None
            await asyncio.sleep(0.2)

    _warned: set = set()

    def _warn_if_not_from_proxy(self, proxy_ip: str) -> None:
        """Say once per address when visitors reach the hub through something other than the proxy: something between
        them rewrites addresses (NAT), and every visitor behind it counts as one client for ``per_client``."""
        peer = str(self.request.connection.context.address[0]).removeprefix("::ffff:")
        if peer != proxy_ip and peer not in self._warned:
            self._warned.add(peer)
            self.log.warning("visitors reach the hub from %s, not from the proxy (%s): per_client counts every visitor "
                             "behind %s as one client; look for NAT rules on the host covering the workshop's network",
                             peer, proxy_ip, peer)

    def _groups(self):
        groups = {}
        for name in (VISITOR_GROUP, POOL_GROUP):
            group = orm.Group.find(self.db, name)
            if group is None:
                group = orm.Group(name=name)
                self.db.add(group)
                self.db.commit()
            groups[name] = group
        return groups[VISITOR_GROUP], groups[POOL_GROUP]

    def _leave(self, user) -> None:
        """Forget a visitor whose server is gone (the keeper deletes the user and its container)."""
        for group in list(user.orm_user.groups):
            group.users.remove(user.orm_user)
        self.db.commit()
        self.clear_login_cookie()

    def _full(self, title: str, text: str) -> None:
        self.set_status(429)
        self.set_header("Retry-After", "60")
        self.set_header("Cache-Control", "no-store")
        if "application/json" in self.request.headers.get("Accept", ""):
            self.finish({"status": 429, "message": f"{title}: {text}"})
        else:
            self.finish(FULL_PAGE.format(title=escape(title), text=escape(text)))


class PoolAuthenticator(Authenticator):
    """No accounts: a visitor logs in by being handed a pool server (see WorkshopHandler)."""

    auto_login = True
    allow_all = True

    def get_handlers(self, app):
        return [("/workshop", WorkshopHandler)]

    def login_url(self, base_url):
        return url_path_join(base_url, "workshop")

    async def authenticate(self, handler, data):
        return None  # nobody logs in with a name or password
