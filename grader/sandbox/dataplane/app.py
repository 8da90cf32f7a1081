"""What a pod's application answers (the sandbox has no containers: this plays them).

The body follows the image: nginx images answer with nginx's welcome page, Istio's helloworld
sample answers "Hello version: vN, instance: POD", anything else one line naming the pod.
Annotations make an app misbehave for the resilience labs (documented in the README):
  lab.grader/respond: "503"   answer every request with that status
  lab.grader/delay:   "2s"    answer after that long (Go/protobuf duration)
  lab.grader/delay-paths: "/ /index.html"   delay only requests for these paths (query string
                              ignored; separated by spaces or commas); without it every path waits
"""

from __future__ import annotations

from grader.sandbox.dataplane import DELAY_ANNOTATION, DELAY_PATHS_ANNOTATION, POD_HEADER, POD_NS_HEADER, RESPOND_ANNOTATION
from grader.sandbox.dataplane.routing import Pod, parse_duration

NGINX_PAGE = (b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
              b"<h1>Welcome to nginx!</h1>\n<p>The nginx web server is installed and working "
              b"(lab sandbox: this page stands for the image's default page).</p>\n</body>\n</html>\n")

REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def reason(status: int) -> str:
    return REASONS.get(status, "Unknown")


class AppAnswer:
    __slots__ = ("status", "headers", "body", "delay", "slow_paths")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, delay: float,
                 slow_paths: frozenset[str] | None = None) -> None:
        self.status, self.headers, self.body, self.delay = status, headers, body, delay
        self.slow_paths = slow_paths

    def delay_for(self, path: str) -> float:
        """How long the app takes to answer a request for `path` (path and query)."""
        if not self.delay or self.slow_paths is None:
            return self.delay
        return self.delay if path.split("?", 1)[0] in self.slow_paths else 0.0


_cache: dict[tuple, AppAnswer] = {}


def answer(pod: Pod) -> AppAnswer:
    """The pod's answer to any request (cached per pod and its annotations/image)."""
    ann = pod.annotations
    key = (pod.namespace, pod.name, pod.image, ann.get(RESPOND_ANNOTATION), ann.get(DELAY_ANNOTATION),
           ann.get(DELAY_PATHS_ANNOTATION), pod.labels.get("version"))
    a = _cache.get(key)
    if a is not None:
        return a
    status = 200
    raw = ann.get(RESPOND_ANNOTATION)
    if isinstance(raw, str) and raw.strip().isdigit() and 100 <= int(raw.strip()) <= 599:
        status = int(raw.strip())
    delay = parse_duration(ann.get(DELAY_ANNOTATION)) or 0.0
    raw_paths = ann.get(DELAY_PATHS_ANNOTATION)
    slow_paths = frozenset(p for p in raw_paths.replace(",", " ").split() if p.startswith("/")) \
        if isinstance(raw_paths, str) else None
    image = pod.image.lower()
    headers = [(POD_HEADER, pod.name), (POD_NS_HEADER, pod.namespace)]
    if status != 200:
        body = f"{pod.name}: {status} {reason(status)} (annotation {RESPOND_ANNOTATION})\n".encode()
        ctype = "text/plain"
    elif "nginx" in image:
        body, ctype = NGINX_PAGE, "text/html"
        headers.append(("server", "nginx"))
    elif "helloworld" in image:
        body, ctype = f"Hello version: {pod.labels.get('version', 'v1')}, instance: {pod.name}\n".encode(), "text/html"
    else:
        body, ctype = f"{pod.name} ({pod.namespace}) served by {pod.image or 'its app'}\n".encode(), "text/plain"
    headers.append(("content-type", ctype))
    a = AppAnswer(status, headers, body, delay, slow_paths)
    if len(_cache) > 10000:
        _cache.clear()
    _cache[key] = a
    return a
