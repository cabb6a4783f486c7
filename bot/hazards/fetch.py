"""One polite, bounded GET of a feed: conditional, timed out, and never read past a size limit."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

# api.weather.gov asks every client to name itself; the others are glad of it too.
USER_AGENT = "Coalesce/0.1 (disaster-response coordination bot; hazard alerts)"
CHUNK = 64 * 1024


class FeedError(Exception):
    """The feed could not be read this time (network, HTTP status, timeout, size); try again later."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A new document (``body``), or ``None`` when the server said nothing changed (304)."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    timeout_s: float,
) -> Fetched:
    """GET ``url`` with the validators of the last document; raises FeedError on anything but 200 or 304.

    The body is read in chunks and abandoned as soon as it passes ``max_bytes`` (after
    decompression, so a small compressed bomb is caught too).
    """
    headers = {"User-Agent": USER_AGENT, "Accept": "application/geo+json, application/json;q=0.9"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with session.get(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s), max_redirects=3
        ) as response:
            if response.status == 304:
                return Fetched(None, etag, last_modified)
            if response.status != 200:
                raise FeedError(f"HTTP {response.status}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise FeedError(f"document of {response.content_length:,} bytes is over the {max_bytes:,} limit")
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(f"document over the {max_bytes:,} byte limit")
                chunks.append(chunk)
            return Fetched(b"".join(chunks), response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except TimeoutError:
        raise FeedError(f"no complete answer within {timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise FeedError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
