"""``coach relay``: run a class relay, or measure one (``coach relay bench``).

coach/cli.py registers the subcommand with :func:`add_arguments` and runs :func:`run`.
Exit status as the rest of the CLI: 0 ok, 2 bad usage (checked before anything
starts), 1 a file or server that cannot be used. A Redis URL's password is never
printed.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from coach.relay.bench import add_arguments as add_bench_arguments
from coach.relay.bench import run as run_bench
from coach.relay.hub import RelayConfig
from coach.storage import paths

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; "
                        "0.0.0.0 serves every network: use TLS then)")  # fmt: skip
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--redis-url", default=paths.relay_redis_url(),
                   help="share classes through Redis, e.g. redis://127.0.0.1:6379/0 "
                        "(default: in memory; env COACH_RELAY_REDIS_URL)")  # fmt: skip
    p.add_argument("--certfile", help="TLS certificate (PEM): serve wss:// directly")
    p.add_argument("--keyfile", help="TLS private key (PEM) for --certfile")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="trust X-Forwarded-For from these proxy addresses (behind a reverse "
                        "proxy, so that rate limits see the real client)")  # fmt: skip
    p.add_argument("--client-joins-per-minute", type=int, default=10, metavar="N",
                   help="joins and seat resumes one client address may make a minute "
                        "(default 10; rooms behind one address may need more)")  # fmt: skip
    p.add_argument(
        "--class-joins-per-minute",
        type=int,
        default=60,
        metavar="N",
        help="joins one class takes a minute (default 60)",
    )
    sub = p.add_subparsers(dest="relay_action", parser_class=type(p))
    bench = sub.add_parser("bench", help="one instructor and N simulated parents on loopback")

    add_bench_arguments(bench)


def check(args: argparse.Namespace) -> str | None:
    """A usage problem in one line, or None."""
    if not 0 < args.port < 65536:
        return f"--port: expected 1..65535, found {args.port}"
    try:
        ipaddress.ip_address(args.host)
    except ValueError:
        if args.host != "localhost":
            return f"--host: expected an IP address such as 127.0.0.1, found {args.host!r}"
    for name in ("client_joins_per_minute", "class_joins_per_minute"):
        if not 1 <= getattr(args, name) <= 1_000_000:
            flag = "--" + name.replace("_", "-")
            return f"{flag}: expected 1..1000000, found {getattr(args, name)}"
    if bool(args.certfile) != bool(args.keyfile):
        return "--certfile and --keyfile: expected both or neither"
    if args.redis_url and not args.redis_url.startswith(("redis://", "rediss://", "unix://")):
        return "--redis-url: expected redis://HOST:PORT[/DB], rediss://... or unix://..."
    return None


def config_from(args: argparse.Namespace):
    per_client = max(args.client_joins_per_minute, 1)
    return RelayConfig(
        joins_per_client=(per_client, 60.0),
        hellos_per_client=(max(60, 2 * per_client), 60.0),
        joins_per_class=(max(args.class_joins_per_minute, 1), 60.0),
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "relay_action", None) == "bench":
        return run_bench(args)
    problem = check(args)
    if problem:
        print(f"coach relay: {problem}", file=sys.stderr)
        return EXIT_USAGE
    for path in (args.certfile, args.keyfile):
        if path and not os.access(path, os.R_OK):
            print(f"coach relay: cannot read {path!r}", file=sys.stderr)
            return EXIT_INPUT
    from coach.relay.server import serve  # deferred: Starlette

    backend = "in memory"
    if args.redis_url:
        from coach.relay.redis_state import safe_url  # deferred: redis

        backend = f"Redis at {safe_url(args.redis_url)}"
    scheme = "wss" if args.certfile else "ws"
    print(f"coach relay: {scheme}://{args.host}:{args.port}/class, classes {backend}", flush=True)
    if args.host not in ("127.0.0.1", "::1", "localhost") and not args.certfile:
        print("coach relay: serving other machines without TLS: put it behind a TLS reverse "
              "proxy (docs/relay.md)", file=sys.stderr, flush=True)  # fmt: skip
    try:
        serve(args.host, args.port, args.redis_url, args.certfile, args.keyfile,
              args.forwarded_allow_ips, config_from(args))  # fmt: skip
    except OSError as exc:
        print(f"coach relay: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return EXIT_INPUT
    return EXIT_OK
