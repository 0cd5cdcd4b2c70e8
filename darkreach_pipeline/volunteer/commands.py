"""The volunteer commands of `darkreach`: serve (the work server), join (the client), volunteers open/list."""

from __future__ import annotations

import argparse
import socket
import sys
import time

from darkreach_pipeline import settings
from darkreach_pipeline.campaign import CampaignSpec
from darkreach_pipeline.errors import CampaignError
from darkreach_pipeline.volunteer.protocol import Limits

DEFAULT_PORT = 8642


def add_parsers(sub) -> None:
    """Add `serve`, `join` and `volunteers` to the `darkreach` command's subparsers."""
    defaults = Limits()
    p = sub.add_parser("serve", help="the volunteer work server (HTTP; put a TLS reverse proxy in front of it)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: behind a proxy)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)  # an inherited, bound socket (tests)
    p.add_argument("--lease-floor", type=float, default=120.0,
                   help="shortest lease and heartbeat extension in seconds (default 120; longer units get 3x their "
                        "estimated duration)")
    for field in ("max_result_bytes", "per_ip_rate", "per_ip_burst", "per_worker_rate", "per_worker_burst",
                  "claim_retry_seconds"):
        kind = int if field.endswith("bytes") else float
        p.add_argument(f"--{field.replace('_', '-')}", type=kind, default=getattr(defaults, field),
                       help=f"default {getattr(defaults, field)}")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("join", help="volunteer: compute units for a work server (`darkreach join --server URL`)")
    p.add_argument("--server", required=True, help="the work server's URL, e.g. https://darkreach.example.org")
    p.add_argument("--forms", default="", help="comma-separated forms to work on, e.g. kbn,factorial (default: any)")
    p.add_argument("--max-cpu", type=int, default=100, choices=range(1, 101), metavar="PERCENT",
                   help="share of one core's time to use, 1-100 (default 100)")
    p.add_argument("--max-ram", default=None, help="only units needing at most this memory, e.g. 4G (default: any)")
    p.add_argument("--name", default=None, help="public alias (default: the start of this machine's id)")
    p.add_argument("--account", default=None, help="account name linking several machines for credit")
    p.add_argument("--units", type=int, default=None, help="stop after this many units (default: never)")
    p.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="stop when no work came for this long (default: wait for work forever)")
    p.add_argument("--backoff-first", type=float, default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--checkpoint-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_join)
    p = sub.add_parser("volunteers", help="open a campaign's blocks to volunteers, or list the units")
    vsub = p.add_subparsers(dest="volunteers_command", required=True)
    q = vsub.add_parser("open", help="open a registered campaign (or some of its blocks) to volunteers")
    q.add_argument("name")
    q.add_argument("--blocks", default=None, help="comma-separated block numbers, ranges (3-7) or keys (default: all)")
    q.set_defaults(func=cmd_volunteers_open)
    q = vsub.add_parser("list", help="the units open to volunteers: status, holder, leases")
    q.set_defaults(func=cmd_volunteers_list)


def parse_blocks(spec: CampaignSpec, text: str | None) -> list[int]:
    """'0,2,5-7' or block keys -> block numbers; every one checked against the campaign."""
    if not text:
        return list(range(spec.block_count))
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "/" in part:
            name, _, number = part.partition("/")
            if name != spec.name or not number.isdigit():
                raise CampaignError("blocks", f"{part!r} is not a block key of campaign '{spec.name}'")
            out.append(int(number))
        elif "-" in part and all(x.isdigit() for x in part.split("-", 1)):
            lo, hi = map(int, part.split("-", 1))
            out.extend(range(lo, hi + 1))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise CampaignError("blocks",
                                f"{part!r}: give block numbers (3), ranges (3-7) or keys ({spec.name}/000003)")
    for block in out:
        spec.block_range(block)  # a block the campaign does not have is refused, naming the valid range
    return sorted(set(out))


def cmd_volunteers_open(args) -> int:
    from darkreach_pipeline.stores.costs import open_cost_store
    from darkreach_pipeline.stores.registry import open_registry
    from darkreach_pipeline.volunteer.store import open_volunteer_store

    url = settings.registry_url()
    spec = open_registry(url).get(args.name)
    chosen = parse_blocks(spec, args.blocks)
    added = open_volunteer_store(url).open_blocks(spec, chosen, open_cost_store(url))
    print(f"campaign '{spec.name}': {added} blocks opened to volunteers ({len(chosen) - added} were already open)")
    return 0


def cmd_volunteers_list(args) -> int:
    from darkreach_pipeline.volunteer.store import open_volunteer_store

    now = time.time()
    for unit_id, unit in sorted(open_volunteer_store(settings.registry_url()).units().items()):
        held = (f"leased to {unit['holder'][:8]}, {unit['deadline'] - now:.0f} s left"
                if unit["holder"] and unit["deadline"] >= now else "free")
        print(f"{unit_id}  {unit['status']:<8}  {held:<32}  handed out {unit['leases']}x")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from darkreach_pipeline.stores.registry import open_registry
    from darkreach_pipeline.stores.reliability import ReliabilityStore
    from darkreach_pipeline.volunteer.server import create_app
    from darkreach_pipeline.volunteer.store import VolunteerStore, serving

    url = settings.registry_url()
    limits = Limits(**{f: getattr(args, f) for f in ("max_result_bytes", "per_ip_rate", "per_ip_burst",
                                                      "per_worker_rate", "per_worker_burst", "claim_retry_seconds")})
    reliability, store = ReliabilityStore(url), VolunteerStore(url, lease_floor=args.lease_floor)
    serving(reliability.engine)  # the server's own engines only: other users of the database keep theirs
    serving(store.engine)
    app = create_app(store, open_registry(url), reliability, limits)
    # keep-alive above the clients' usual pause between requests: fewer connections closed under a request
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False,
                            server_header=False, timeout_keep_alive=65)
    if args.fd is None:
        print(f"volunteer work server on http://{args.host}:{args.port} (put a TLS reverse proxy in front of it)")
    sys.stdout.flush()
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=args.fd)] if args.fd is not None else None)
    return 0


def cmd_join(args) -> int:
    from darkreach_pipeline.volunteer.client import Preferences, UpgradeNeeded, VolunteerClient, parse_size

    try:
        max_ram = parse_size(args.max_ram) if args.max_ram else 0
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    preferences = Preferences(forms=[f for f in args.forms.split(",") if f], max_cpu=args.max_cpu,
                              max_ram_bytes=max_ram, name=args.name, account=args.account)
    client = VolunteerClient(args.server, settings.darkreach_home(), preferences, backoff_first=args.backoff_first,
                             checkpoint_seconds=args.checkpoint_seconds,
                             log=lambda line: print(f"{time.strftime('%H:%M:%S')} {line}", flush=True))
    try:
        done = client.run(units=args.units, idle_exit_after=args.idle_exit)
    except UpgradeNeeded as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"{done} units done on {socket.gethostname()}")
    return 0
