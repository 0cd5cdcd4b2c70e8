"""Load on the volunteer work server: N simulated volunteers (threads with httpx clients, loopback only) register,
claim, heartbeat and return units against a real `darkreach serve` (uvicorn, SQLite registry) for a bounded time.

Baseline in the same run: one volunteer alone for the same protocol (its requests/s and latencies). Reported:
requests/s and p50/p99 latency per endpoint, then checks that no unit was lost (every lease handed out ended in
a stored result, every returned unit is accepted or waiting for its quorum) and none was handed out twice at
once (no volunteer's lease was taken over while it held it: its heartbeat and result were never refused).

The results are honest block results computed before the timed part (one candidate per unit), so the server's
examination (sieve strikes, proofs, certificates) runs for real on every result.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_volunteer_load.py [--volunteers 200] [--seconds 60] [--units 3000]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "volunteer"))

from volunteer_helpers import honest_submission, registry_url, start_server, stop  # noqa: E402

from darkreach_pipeline.campaign import parse_campaign  # noqa: E402
from darkreach_pipeline.stores.costs import CostStore  # noqa: E402
from darkreach_pipeline.stores.registry import CampaignRegistry  # noqa: E402
from darkreach_pipeline.volunteer.protocol import PROTOCOL_VERSION  # noqa: E402
from darkreach_pipeline.volunteer.store import VolunteerStore  # noqa: E402


def prepare(home: Path, name: str, units: int) -> dict[str, dict]:
    """A campaign of `units` one-candidate blocks (3*2^n-1, n = 1001..), opened to volunteers, and the honest
    result of each (lease id filled in per lease)."""
    spec = parse_campaign({"name": name, "form": "kbn", "k": 3, "b": 2, "c": -1, "n_min": 1001,
                           "n_max": 1000 + units, "block_size": 1, "sieve_depth": 1000})
    url = registry_url(home)
    CampaignRegistry(url).register(spec)
    VolunteerStore(url).open_blocks(spec, range(spec.block_count), CostStore(url))
    return {spec.partition_key(b): json.loads(honest_submission(spec.definition(), b, spec.partition_key(b),
                                                                "0" * 32).model_dump_json())
            for b in range(spec.block_count)}


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.leases: dict[str, list[tuple[float, float, str]]] = defaultdict(list)  # unit -> (claimed, ended, lease)
        self.verdicts: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self.retries: list[str] = []  # requests sent again after a dropped connection

    def timed(self, http: httpx.Client, what: str, body: dict) -> httpx.Response:
        """POST, timed; a dropped connection is retried as the real client does (counted apart)."""
        start = time.perf_counter()
        for attempt in range(5):
            try:
                response = http.post(f"/v1/{what}", json=body)
                break
            except httpx.TransportError as exc:
                with self.lock:
                    self.retries.append(f"{what}: {exc!r}")
                if attempt == 4:
                    raise
                time.sleep(0.2)
        with self.lock:
            self.latency[what].append(time.perf_counter() - start)
        return response


def volunteer(url: str, results: dict[str, dict], stop_at: float, rec: Recorder) -> None:
    http = httpx.Client(base_url=url, timeout=120)
    try:
        reply = rec.timed(http, "register", {"protocol": PROTOCOL_VERSION})
        http.headers["Authorization"] = f"Bearer {reply.json()['token']}"
        while time.monotonic() < stop_at:
            claim = rec.timed(http, "claim", {"forms": [], "max_ram_bytes": 0})
            if claim.status_code != 200:
                rec.errors.append(f"claim {claim.status_code}")
                continue
            unit = claim.json()["unit"]
            if unit is None:
                time.sleep(claim.json()["retry_after"])
                continue
            claimed = time.monotonic()
            beat = {"unit_id": unit["unit_id"], "lease_id": unit["lease_id"], "done": 0, "total": 1}
            if rec.timed(http, "heartbeat", beat).status_code != 200:
                rec.errors.append(f"heartbeat refused for {unit['unit_id']}")
            body = {**results[unit["unit_id"]], "lease_id": unit["lease_id"]}
            answer = rec.timed(http, "result", body)
            with rec.lock:
                rec.leases[unit["unit_id"]].append((claimed, time.monotonic(), unit["lease_id"]))
                rec.verdicts[answer.json().get("status", str(answer.status_code))] += 1
    except Exception as exc:  # noqa: BLE001 (counted and shown: the benchmark fails on any)
        rec.errors.append(repr(exc))
    finally:
        http.close()


def run_load(url: str, results: dict[str, dict], volunteers: int, seconds: float) -> tuple[Recorder, float]:
    rec = Recorder()
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=volunteer, args=(url, results, stop_at, rec)) for _ in range(volunteers)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rec, time.monotonic() - start


def check(store: VolunteerStore, rec: Recorder) -> list[str]:
    """No unit lost, none handed out twice at once: every lease the server handed out was seen by a volunteer and
    its result stored; no lease was taken from its holder (a heartbeat or result refused with 409 would show it,
    counted by `volunteer` as an error or a '409' verdict)."""
    problems = [f"{rec.verdicts['409']} results refused: their lease was not theirs"] if rec.verdicts.get("409") else []
    for unit_id, unit in store.units().items():
        seen = sorted(rec.leases.get(unit_id, []))
        if unit["leases"] != len(seen):
            problems.append(f"{unit_id}: the server handed out {unit['leases']} leases, volunteers saw {len(seen)}")
        stored = store.results_of(unit_id)
        if len(stored) != len(seen):
            problems.append(f"{unit_id}: {len(seen)} results returned, {len(stored)} stored")
        if any(r.verdict == "rejected" for r in stored):
            problems.append(f"{unit_id}: an honest result was rejected")
        if seen and unit["status"] != "accepted" and not any(r.verdict == "pending" for r in stored):
            problems.append(f"{unit_id}: returned but neither accepted nor waiting for its quorum")
    return problems


def table(title: str, rec: Recorder, wall: float) -> list[str]:
    total = sum(len(v) for v in rec.latency.values())
    lines = [f"### {title}: {total} requests in {wall:.1f} s = {total / wall:.1f} requests/s, "
             f"{sum(rec.verdicts.values())} units returned ({dict(rec.verdicts)}), {len(rec.errors)} errors, "
             f"{len(rec.retries)} requests retried after a dropped connection",
             "", "| endpoint | requests | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for what in ("register", "claim", "heartbeat", "result"):
        values = sorted(rec.latency.get(what, []))
        if values:
            p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
            lines.append(f"| {what} | {len(values)} | {1000 * statistics.median(values):.1f} | {1000 * p99:.1f} | "
                         f"{1000 * values[-1]:.1f} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--units", type=int, default=3000)
    args = parser.parse_args()
    print(f"# bench_volunteer_load  {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}  "
          f"volunteers {args.volunteers}  seconds {args.seconds}  units {args.units}")
    with tempfile.TemporaryDirectory(prefix="bench-volunteers-") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        baseline_results = prepare(home, "base", max(50, args.units // 20))
        results = {**baseline_results, **prepare(home, "load", args.units)}  # the load run finishes the baseline's
        print(f"# honest results of {len(baseline_results) + len(results)} units computed in "
              f"{time.perf_counter() - started:.0f} s (not timed below)")
        server, url = start_server(home, "--claim-retry-seconds", "0.5", "--per-ip-rate", "1000000",
                                   "--per-ip-burst", "1000000", "--per-worker-rate", "1000", "--per-worker-burst",
                                   "1000")
        try:
            store = VolunteerStore(registry_url(home))
            base, base_wall = run_load(url, results, 1, args.baseline_seconds)
            load, wall = run_load(url, results, args.volunteers, args.seconds)
        finally:
            stop(server)
        lines = table("baseline: 1 volunteer", base, base_wall)
        lines += table(f"{args.volunteers} volunteers", load, wall)
        base_rate = sum(len(v) for v in base.latency.values()) / base_wall
        rate = sum(len(v) for v in load.latency.values()) / wall
        lines.append(f"throughput ratio ({args.volunteers} volunteers / 1): {rate / base_rate:.2f}")
        for unit_id, leases in base.leases.items():
            load.leases[unit_id] = leases + load.leases.get(unit_id, [])
        problems = check(store, load)
        lines.append(f"no unit lost or handed out twice: {'yes' if not problems else 'NO'}; "
                     f"units accepted: {sum(u['status'] == 'accepted' for u in store.units().values())}")
        print("\n".join(lines))
        for problem in problems[:20]:
            print("PROBLEM", problem)
        for error in load.errors[:10] + base.errors[:10]:
            print("ERROR", error)
        assert not problems and not load.errors and not base.errors, f"{len(problems)} problems"


if __name__ == "__main__":
    main()
