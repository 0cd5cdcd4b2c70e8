"""`darkreach serve`: the volunteer work server (FastAPI on uvicorn), facing the internet behind a TLS proxy.

Every request body is bounded (413) before it is read whole, parsed as JSON into a strict model (400 naming
the field otherwise), rate-limited per client address and per worker token (429 with Retry-After); a worker
is known by its token only (401), and a result or heartbeat must name the live lease this worker holds (409).
A well-formed but wrong result (bad residue, forged proof, false factor) is 422 and counts against the
worker's reliability. Nothing is unpickled or evaluated; no endpoint returns a token other than the caller's
own (once, at registration) or any unit that is not leased to the caller.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from darkreach_pipeline.stores.registry import CampaignRegistry
from darkreach_pipeline.stores.reliability import ReliabilityStore
from darkreach_pipeline.volunteer import acceptance
from darkreach_pipeline.volunteer.protocol import (
    MIN_CLIENT_PROTOCOL,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    UPGRADE_COMMAND,
    ClaimReply,
    ClaimRequest,
    Heartbeat,
    HeartbeatReply,
    Hello,
    Limits,
    RegisterReply,
    RegisterRequest,
    ResultSubmission,
    ResultVerdict,
    UnitOffer,
)
from darkreach_pipeline.volunteer.store import LeaseError, VolunteerStore, Worker, token_hash

M = TypeVar("M", bound=BaseModel)


class RateLimiter:
    """Token buckets by key (a client address or a worker token's hash), in memory: a restart forgets them."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def wait_needed(self, key: str) -> float:
        """0 if the request may go on (and it is counted), else the seconds until it would."""
        now = self.clock()
        with self.lock:
            if len(self.buckets) > 100_000:  # a flood of new keys cannot grow memory without bound
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < self.burst / self.rate}
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self.buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self.buckets[key] = (tokens - 1.0, now)
            return 0.0


class BodyLimit:
    """ASGI middleware: 413 for a body above the limit, from Content-Length or while it streams in."""

    def __init__(self, app, limits: Limits):
        self.app, self.limits = app, limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limits.max_result_bytes if scope["path"] == "/v1/result" else self.limits.max_request_bytes
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _too_large(limit)(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _too_large(limit)(scope, receive, send)


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body above the limit of {limit} bytes"}, status_code=413)


def parse(model: type[M], body: bytes) -> M:
    """The body as `model` (strict JSON), or 400 naming the first wrong fields."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise HTTPException(400, f"malformed {model.__name__}: {problems}") from None


def create_app(store: VolunteerStore, registry: CampaignRegistry, reliability: ReliabilityStore,
               limits: Limits | None = None) -> FastAPI:
    """The work server over these stores (the registry's database by default: see `darkreach serve`)."""
    limits = limits or Limits()
    app = FastAPI(title="darkreach volunteer server", version=str(PROTOCOL_VERSION), docs_url=None, redoc_url=None,
                  openapi_url=None)
    by_ip = RateLimiter(limits.per_ip_rate, limits.per_ip_burst)
    by_worker = RateLimiter(limits.per_worker_rate, limits.per_worker_burst)

    @app.middleware("http")
    async def gate(request: Request, call_next):
        """Rate limits and the protocol version, before any body is read or any database touched."""
        client = request.client.host if request.client else "unknown"
        token = _bearer(request)
        for limiter, key in ((by_ip, client), (by_worker, token_hash(token) if token else "")):
            wait = limiter.wait_needed(key) if key else 0.0
            if wait:
                return JSONResponse({"detail": "too many requests: slow down"}, status_code=429,
                                    headers={"Retry-After": str(max(1, round(wait)))})
        version = request.headers.get(PROTOCOL_HEADER)
        if version is not None and (not version.isdigit() or int(version) < MIN_CLIENT_PROTOCOL):
            return JSONResponse({"detail": f"protocol {version} is no longer served (oldest: {MIN_CLIENT_PROTOCOL}): "
                                 f"upgrade with `{UPGRADE_COMMAND}`"}, status_code=426)
        return await call_next(request)

    async def worker_of(request: Request) -> Worker:
        token = _bearer(request)
        worker = await run_in_threadpool(store.authenticate, token) if token else None
        if worker is None:
            raise HTTPException(401, "unknown or missing worker token (Authorization: Bearer TOKEN from /v1/register)")
        return worker

    @app.get("/v1/hello")
    async def hello() -> Hello:
        return Hello(protocol=PROTOCOL_VERSION, min_client_protocol=MIN_CLIENT_PROTOCOL, upgrade=UPGRADE_COMMAND)

    @app.post("/v1/register")
    async def register(request: Request) -> RegisterReply:
        ask = parse(RegisterRequest, await request.body())
        if ask.protocol < MIN_CLIENT_PROTOCOL:
            raise HTTPException(426, f"protocol {ask.protocol} is no longer served: upgrade with `{UPGRADE_COMMAND}`")
        worker_id, token = await run_in_threadpool(store.register, ask.name, ask.account)
        return RegisterReply(worker_id=worker_id, token=token)

    @app.post("/v1/claim")
    async def claim(request: Request) -> ClaimReply:
        worker = await worker_of(request)
        ask = parse(ClaimRequest, await request.body())
        lease = await run_in_threadpool(store.claim, worker.worker_id, ask.forms, ask.max_ram_bytes)
        if lease is None:
            return ClaimReply(unit=None, retry_after=limits.claim_retry_seconds)
        spec, block = await run_in_threadpool(registry.resolve, lease.unit_id)
        return ClaimReply(unit=UnitOffer(
            unit_id=lease.unit_id, lease_id=lease.lease_id, campaign=spec.definition(), block=block,
            lease_seconds=lease.lease_seconds, heartbeat_seconds=max(0.5, lease.lease_seconds / 4),
            estimated_seconds=lease.estimated_seconds), retry_after=0.0)

    @app.post("/v1/heartbeat")
    async def heartbeat(request: Request) -> HeartbeatReply:
        worker = await worker_of(request)
        beat = parse(Heartbeat, await request.body())
        try:
            seconds = await run_in_threadpool(store.heartbeat, worker.worker_id, beat.unit_id, beat.lease_id)
        except LeaseError as exc:
            raise HTTPException(409, str(exc)) from None
        return HeartbeatReply(lease_seconds=seconds)

    @app.post("/v1/result")
    async def result(request: Request) -> JSONResponse:
        worker = await worker_of(request)
        submission = parse(ResultSubmission, await request.body())
        try:
            verdict = await run_in_threadpool(_judge, store, registry, reliability, worker, submission)
        except LeaseError as exc:
            raise HTTPException(409, str(exc)) from None
        status = {"accepted": 200, "pending": 202, "rejected": 422}[verdict.status]
        return JSONResponse(verdict.model_dump(), status_code=status)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    @app.get("/stats")
    async def stats() -> JSONResponse:
        from darkreach_pipeline.volunteer import credit, stats_page  # written beside this (credit summaries)

        units = await run_in_threadpool(store.accepted_units)
        return JSONResponse(json.loads(json.dumps(stats_page.render_json(credit.summarise(units)), default=str)))

    @app.get("/stats.html")
    async def stats_html() -> HTMLResponse:
        from darkreach_pipeline.volunteer import credit, stats_page

        units = await run_in_threadpool(store.accepted_units)
        return HTMLResponse(stats_page.render_html(credit.summarise(units)))

    return BodyLimit(app, limits)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and len(token) <= 128 else ""


def _judge(store: VolunteerStore, registry: CampaignRegistry, reliability: ReliabilityStore, worker: Worker,
           submission: ResultSubmission) -> ResultVerdict:
    """Examine a result, store it with its verdict (ending the lease), settle a quorum, record reliability."""
    store.check_lease(worker.worker_id, submission.unit_id, submission.lease_id)
    spec, block = registry.resolve(submission.unit_id)
    exam = acceptance.examine(spec, block, submission, worker.worker_id, worker.name)
    verdict, reason = acceptance.decide(exam, reliability.worker(worker.worker_id), submission.unit_id)
    settled = store.record_result(worker.worker_id, submission.unit_id, submission.lease_id, verdict, reason,
                                  exam.digest, exam.rows, exam.primes, exam.max_bits, submission.cpu_seconds)
    if verdict == "rejected":
        settled.invalid.append(worker.worker_id)
    for valid, workers in ((True, settled.valid), (False, settled.invalid)):
        for worker_id in workers:
            reliability.record_validation(submission.unit_id, worker_id, valid)
    return ResultVerdict(status=settled.verdict, reason=settled.reason)
