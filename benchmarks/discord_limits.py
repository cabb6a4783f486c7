"""Discord's REST rate limits, modelled on the simulated API so the benchmarks meet what production meets.

simcord answers every request at once and limits nothing; Discord does not. Here
the simulated API gains Discord's limiter (numbers and reasons in docs/performance.md):

- per-route buckets keyed as Discord keys them: a route's bucket plus its top-level
  resource (``channel_id``, ``guild_id``, ``webhook_id``). Creating a message is 5 per
  5 s per channel, a DM channel included; editing one has its own 5 per 5 s per channel;
  opening a DM channel is one bucket for the whole bot;
- the global limit, 50 requests per second per bot across every route, with
  interaction callbacks and follow-ups exempt (they travel through the webhook
  adapter, which this model leaves unlimited, as Discord does);
- every answer carries ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket``, and an
  exceeded limit answers a real 429: ``retry_after`` and ``global`` in the body,
  ``Retry-After``, ``X-RateLimit-Scope`` and ``Via`` in the headers;
- 401, 403 and 429 answers are counted as Discord counts invalid requests (10,000 in
  10 minutes earn a temporary ban).

The client side is discord.py's own: requests go through the real ``HTTPClient.request``
(its bucket bookkeeping, pre-emptive waits, 429 retries and ``max_ratelimit_timeout``),
over a session that answers from the simulated API instead of the network. Time is
the simulator's clock, so waits cost no wall time under ``env.advance_time``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from discord.http import HTTPClient, Route
from multidict import CIMultiDict, CIMultiDictProxy
from simcord import _dpy_internals
from simcord.backend.errors import BackendError
from simcord.http import client as sc_client
from simcord.http import router as scr

GLOBAL_LIMIT = 50  # requests per GLOBAL_WINDOW_S per bot
GLOBAL_WINDOW_S = 1.0
INVALID_WINDOW_S = 600.0  # Discord bans after 10,000 invalid requests in this window


@dataclass(frozen=True)
class BucketRule:
    """One of Discord's per-route limits: ``limit`` requests per ``period_s``, per top-level resource."""

    name: str
    method: str
    pattern: re.Pattern[str]
    limit: int
    period_s: float


RULES = (
    BucketRule("message-create", "POST", re.compile(r"^/channels/(\d+)/messages$"), 5, 5.0),
    BucketRule("message-edit", "PATCH", re.compile(r"^/channels/(\d+)/messages/\d+$"), 5, 5.0),
    BucketRule("dm-open", "POST", re.compile(r"^/users/@me/channels$"), 5, 5.0),
)
# Every other route: a generous bucket per route and resource; the global limit is what binds them.
DEFAULT_LIMIT = 50
DEFAULT_PERIOD_S = 1.0


@dataclass
class Window:
    """A bucket's current window: it opens on the first request after the previous one expired."""

    limit: int
    period_s: float
    opened_at: float = -math.inf
    used: int = 0

    def reset_at(self) -> float:
        return self.opened_at + self.period_s

    def take(self, now: float) -> bool:
        if now >= self.reset_at():
            self.opened_at, self.used = now, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


@dataclass
class Answer:
    """What the limiter decided for one request, and what was counted."""

    at: float
    method: str
    path: str
    bucket: str
    status: int = 0
    scope: str = ""


@dataclass
class RateLimitedAPI:
    """Discord's limiter in front of simcord's API; keeps the record the benchmark reads."""

    backend: Any
    answers: list[Answer] = field(default_factory=list)
    windows: dict[str, Window] = field(default_factory=dict)
    global_window: Window = field(default_factory=lambda: Window(GLOBAL_LIMIT, GLOBAL_WINDOW_S))
    # channel id -> a 429 every message to it meets until this simulated moment (a test's punished channel)
    blocked_until: dict[int, float] = field(default_factory=dict)
    invalid_at: deque[float] = field(default_factory=deque)
    max_invalid_10min: int = 0

    def now(self) -> float:
        return float(self.backend.clock.elapsed)

    def block_channel(self, channel_id: int, seconds: float) -> None:
        """Make every message to this channel answer 429 with a long ``retry_after`` for ``seconds``."""
        self.blocked_until[channel_id] = self.now() + seconds

    def bucket_of(self, method: str, path: str) -> tuple[str, str, int, float, int | None]:
        """(bucket hash, key incl. top-level resource, limit, period, channel id) of a request, as Discord keys it."""
        for rule in RULES:
            found = rule.pattern.match(path) if rule.method == method else None
            if found:
                resource = found.group(1) if found.groups() else "bot"
                channel = int(resource) if resource.isdigit() else None
                return rule.name, f"{rule.name}:{resource}", rule.limit, rule.period_s, channel
        template = re.sub(r"/\d+", "/{id}", path)
        major = re.match(r"^/(channels|guilds|webhooks)/(\d+)", path)
        resource = major.group(2) if major else "bot"
        name = f"{method} {template}"
        return name, f"{name}:{resource}", DEFAULT_LIMIT, DEFAULT_PERIOD_S, None

    def admit(self, method: str, path: str) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        """Decide one request: (0, headers, None) to let it through, or (429, headers, body)."""
        now = self.now()
        bucket, key, limit, period, channel = self.bucket_of(method, path)
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(limit, period)
        answer = Answer(now, method, path, bucket)
        self.answers.append(answer)
        blocked = self.blocked_until.get(channel or 0, -math.inf)
        if now < blocked:
            return self._refuse(answer, blocked - now, scope="user", window=window, bucket=bucket)
        if not self.global_window.take(now):
            return self._refuse(
                answer, self.global_window.reset_at() - now, scope="global", window=window, bucket=bucket
            )
        if not window.take(now):
            # The global slot was not used: Discord counts a request against the limit that refused it.
            self.global_window.used -= 1
            return self._refuse(answer, window.reset_at() - now, scope="user", window=window, bucket=bucket)
        return 0, _headers(window, now, bucket), None

    def _refuse(
        self, answer: Answer, retry_after: float, *, scope: str, window: Window, bucket: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        answer.status, answer.scope = 429, scope
        self.count_invalid(answer.at)
        retry_after = round(max(retry_after, 0.001), 3)
        headers = _headers(window, answer.at, bucket)
        headers.update({"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": scope, "Via": "1.1 google"})
        if scope == "global":
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": scope == "global"}
        return 429, headers, body

    def count_invalid(self, at: float) -> None:
        self.invalid_at.append(at)
        while self.invalid_at and self.invalid_at[0] <= at - INVALID_WINDOW_S:
            self.invalid_at.popleft()
        self.max_invalid_10min = max(self.max_invalid_10min, len(self.invalid_at))

    # ----- figures -----

    def requests(self, since: float = -math.inf) -> list[Answer]:
        return [a for a in self.answers if a.at >= since]


def _headers(window: Window, now: float, bucket: str) -> dict[str, str]:
    reset_after = max(0.0, window.reset_at() - now) if window.used else window.period_s
    return {
        "X-RateLimit-Limit": str(window.limit),
        "X-RateLimit-Remaining": str(max(0, window.limit - window.used)),
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Reset": f"{now + reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
        "Content-Type": "application/json",
    }


class _Response:
    """The parts of an aiohttp response that discord.py's HTTPClient reads."""

    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.status = status
        self.reason = {429: "Too Many Requests", 403: "Forbidden", 404: "Not Found"}.get(status, "OK")
        self.headers = CIMultiDictProxy(CIMultiDict(headers))
        self._text = "" if body is None else json.dumps(body)

    async def text(self, encoding: str = "utf-8") -> str:
        return self._text

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


# The body and files of the request in flight, as simcord's own transport would pass them to its router.
_REQUEST: contextvars.ContextVar[tuple[Any, list[Any], Any]] = contextvars.ContextVar("limited_request")


class _Session:
    """Stands in for aiohttp's session: each request meets the limiter, then simcord's API."""

    closed = False

    def __init__(self, api: RateLimitedAPI, message_content_access: bool) -> None:
        self.api = api
        self.message_content_access = message_content_access

    def request(self, method: str, url: str, **_kwargs: Any) -> _Response:
        body, files, reason = _REQUEST.get()
        path = sc_client._path_of(url)
        status, headers, refusal = self.api.admit(method, path)
        if status:
            return _Response(status, headers, refusal)
        try:
            data = scr.dispatch(
                self.api.backend,
                method,
                path,
                json=body,
                params=None,
                files=files,
                reason=reason,
                message_content_access=self.message_content_access,
            )
        except (scr.RouteNotImplemented, scr.UnsupportedField):
            raise
        except BackendError as error:
            if error.status in (401, 403):
                self.api.count_invalid(self.api.now())
            self.api.answers[-1].status = error.status
            return _Response(error.status, headers, error.to_json())
        self.api.answers[-1].status = 204 if data is None else 200
        return _Response(204 if data is None else 200, headers, data)


@contextlib.contextmanager
def discord_rate_limits(max_ratelimit_timeout: float | None = None) -> Iterator[list[RateLimitedAPI]]:
    """Within this block, bots started under simcord meet Discord's rate limits through discord.py's own client.

    Yields a list that receives each started bot's :class:`RateLimitedAPI` (one per
    simulated backend). ``max_ratelimit_timeout`` is given to discord.py's client
    when the bot did not choose one itself.
    """
    apis: list[RateLimitedAPI] = []
    by_backend: dict[int, RateLimitedAPI] = {}
    original_request = sc_client.FakeHTTPClient.request
    original_install = _dpy_internals.install_http

    def api_for(backend: Any) -> RateLimitedAPI:
        api = by_backend.get(id(backend))
        if api is None:
            api = by_backend[id(backend)] = RateLimitedAPI(backend)
            apis.append(api)
        return api

    async def request(self: Any, route: Route, *, files: Any = None, form: Any = None, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        file_list = list(files or [])
        if form is not None:
            payload, file_list = scr.parse_form(list(form), file_list)
            if payload is not None:
                body = payload
        if not isinstance(getattr(self, "_global_over", None), asyncio.Event):
            self._global_over = asyncio.Event()
            self._global_over.set()
        self._HTTPClient__session = _Session(api_for(self.backend), self.message_content_access)
        _REQUEST.set((body, file_list, kwargs.get("reason")))
        return await HTTPClient.request(self, route, files=files, form=form, **kwargs)

    def install(client: Any, http: Any) -> None:
        chosen = getattr(getattr(client, "http", None), "max_ratelimit_timeout", None)
        http.max_ratelimit_timeout = chosen or (max(30.0, max_ratelimit_timeout) if max_ratelimit_timeout else None)
        original_install(client, http)

    sc_client.FakeHTTPClient.request = request  # type: ignore[method-assign]
    _dpy_internals.install_http = install
    try:
        yield apis
    finally:
        sc_client.FakeHTTPClient.request = original_request  # type: ignore[method-assign]
        _dpy_internals.install_http = original_install
