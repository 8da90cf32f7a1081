"""Shared plumbing for the simulators: watch loops, time stamps, conditions, small helpers
(requests to the API server: rest.py)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

log = logging.getLogger("sandbox")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_dict(api: client.ApiClient, obj: Any) -> dict:
    return obj if isinstance(obj, dict) else api.sanitize_for_serialization(obj)


def watch_forever(stop: threading.Event, list_fn: Callable[..., Any], handle: Callable[[str, dict], None],
                  api: client.ApiClient, name: str, resync: float = 30.0, **kw: Any) -> None:
    """List, handle every object, then watch; relist on expiry or error, and every `resync` s."""
    while not stop.is_set():
        try:
            listing = to_dict(api, list_fn(**kw))
            rv = listing["metadata"].get("resourceVersion")
            for item in listing.get("items", []):
                _safe(handle, "SYNC", item, name)
            w = watch.Watch()
            deadline = time.monotonic() + resync
            for ev in w.stream(list_fn, resource_version=rv, timeout_seconds=int(resync), **kw):
                if stop.is_set() or time.monotonic() > deadline:
                    w.stop()
                    break
                obj = to_dict(api, ev["object"])
                if ev["type"] == "ERROR":
                    break
                _safe(handle, ev["type"], obj, name)
        except ApiException as e:
            if e.status not in (404, 410):
                log.warning("%s: watch error %s", name, e.reason)
            stop.wait(1.0)
        except Exception as e:  # noqa: BLE001 - a simulator must keep running
            log.warning("%s: %s", name, e)
            stop.wait(1.0)


def _safe(handle: Callable[[str, dict], None], typ: str, obj: dict, name: str) -> None:
    try:
        handle(typ, obj)
    except ApiException as e:
        if e.status not in (404, 409):
            log.warning("%s: %s %s/%s: %s %s", name, typ, obj.get("metadata", {}).get("namespace"),
                        obj.get("metadata", {}).get("name"), e.status, e.reason)
    except Exception:  # noqa: BLE001
        log.exception("%s: handling %s", name, typ)


def every(stop: threading.Event, seconds: float, fn: Callable[[], None], name: str) -> None:
    while not stop.is_set():
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            log.warning("%s: %s", name, e)
        stop.wait(seconds)


def dig(d: Any, *keys: str, default: Any = None) -> Any:
    """d[k1][k2]...; `default` where a key is missing or a level is not a mapping."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def condition(ctype: str, status: bool | str, reason: str = "", message: str = "",
              previous: list | None = None) -> dict:
    """A status condition (an empty reason or message left out); it keeps its
    lastTransitionTime from `previous` while its status does not change."""
    st = status if isinstance(status, str) else ("True" if status else "False")
    c = {"type": ctype, "status": st}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    old = next((p for p in previous or [] if p.get("type") == ctype), None)
    c["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == st and \
        old.get("lastTransitionTime") else now()
    return c
