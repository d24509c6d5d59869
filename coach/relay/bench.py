"""``coach relay bench``: one instructor and N simulated parents on loopback.

For each N and each set-up (one relay process in memory; two relay processes behind
a private Redis, parents spread over both) it starts the relays as separate
processes, opens a class, joins N parents (WebSocket clients in this process), lets
the instructor send its path for ``--seconds`` at ``--rate`` messages a second (one
point each, as the page does) and prints: messages delivered to parents a second,
the share delivered, instructor-to-parent latency p50/p95/p99 (send to receive, same
clock), the relays' CPU (percent of one core) and memory, and this process's CPU
(the simulated parents share the machine: on 2 cores they compete with the relay).
Bounded: at most ``--max-parents`` parents, ``--seconds`` at most 60.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import threading
import time

import numpy as np

from coach.relay.local_redis import LocalRedis, find_server

MAX_SECONDS = 60.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--parents", default="10,100,500", help="comma-separated counts (default 10,100,500)"
    )
    p.add_argument(
        "--seconds", type=float, default=5.0, help="path sent this long per run (default 5)"
    )
    p.add_argument(
        "--rate", type=float, default=30.0, help="instructor messages a second (default 30)"
    )
    p.add_argument(
        "--setups", default="one,redis",
        help="one (one relay, in memory), redis (two relays behind Redis); default both",
    )  # fmt: skip
    p.add_argument(
        "--max-parents", type=int, default=1000, help="refuse larger counts (default 1000)"
    )
    p.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    p.add_argument("--frame-cost", action="store_true",
                   help="instead: one parent's processing time a frame in a class (the "
                        "instructor simulated through a relay) against the same practice "
                        "alone, side by side (needs the hand model)")  # fmt: skip


def _check(args) -> tuple[list[int], list[str]] | str:
    try:
        counts = [int(x) for x in args.parents.split(",") if x.strip()]
    except ValueError:
        return f"--parents: expected counts like 10,100,500, found {args.parents!r}"
    if not counts or any(not 1 <= n <= args.max_parents for n in counts):
        return f"--parents: expected counts 1..{args.max_parents}, found {args.parents!r}"
    if not 0.5 <= args.seconds <= MAX_SECONDS:
        return f"--seconds: expected 0.5..{MAX_SECONDS:g}, found {args.seconds}"
    if not 1 <= args.rate <= 60:
        return f"--rate: expected 1..60 messages a second, found {args.rate}"
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    if not setups or any(s not in ("one", "redis") for s in setups):
        return f"--setups: expected one and/or redis, found {args.setups!r}"
    return counts, setups


async def _parent(url: str, code: str, lat: list, counts: list, ready: asyncio.Event, i: int,
                  go_at: list) -> None:  # fmt: skip
    from websockets.asyncio.client import connect  # deferred: websockets

    try:
        async with connect(url, max_size=65536, open_timeout=30, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "join", "code": code, "name": f"Parent {i}"}))
            async for raw in ws:
                for m in _unbatch(raw):
                    if _parent_message(m, lat, counts, ready, go_at):
                        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - counted and said, not hidden
        counts[4].append(f"{type(exc).__name__}: {exc}"[:120])
        if not counts[1] + counts[3] + len(counts[4]) < counts[2]:
            ready.set()


def _unbatch(raw) -> list[dict]:
    m = json.loads(raw)
    return m["messages"] if m.get("type") == "batch" else [m]


def _parent_message(m: dict, lat: list, counts: list, ready, go_at: list) -> bool:
    """One message for a simulated parent; True when the class ended."""
    kind = m.get("type")
    if kind == "welcome":
        counts[1] += 1
        if counts[1] + counts[3] + len(counts[4]) >= counts[2]:
            ready.set()
    elif kind == "path":
        now = time.time()
        counts[0] += 1
        if go_at[0] and now >= go_at[0]:
            lat.append(now - m["points"][0][0])
    elif kind == "error":
        counts[4].append(f"the relay said {m.get('error')}: {m.get('message')}"[:160])
        if counts[1] + counts[3] + len(counts[4]) >= counts[2]:
            ready.set()
    return kind == "ended"


def _cpu_now(pids: list[int]) -> tuple[list[float], float, float]:
    """CPU seconds of each process in ``pids``, of this process, and the wall clock."""
    from coach.relay.process import proc_cpu_s  # deferred: Starlette

    me = os.times()
    return [proc_cpu_s(p) for p in pids], me.user + me.system, time.monotonic()


async def _one_run(urls: list[str], n: int, seconds: float, rate: float, pids: list[int]) -> dict:
    from websockets.asyncio.client import connect  # deferred: websockets

    lat: list[float] = []
    counts = [0, 0, n, 0, []]  # received paths, welcomed, expected, errors, failures
    ready = asyncio.Event()
    go_at = [0.0]
    async with connect(urls[0], open_timeout=30, ping_interval=None) as teacher:
        await teacher.send(json.dumps({"type": "open", "name": "Bench", "stroke_id": "i-love-you"}))
        got = _unbatch(await teacher.recv())
        if got[0].get("type") != "opened":
            raise RuntimeError(f"open failed: {got[0]}")
        code = got[0]["code"]
        if len(got) == 1:
            await teacher.recv()  # the welcome
        tasks = []
        join_started = time.time()
        for i in range(n):
            tasks.append(asyncio.create_task(
                _parent(urls[i % len(urls)], code, lat, counts, ready, i, go_at)))  # fmt: skip
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(ready.wait(), 60)
        except TimeoutError:
            raise RuntimeError(f"only {counts[1]} of {n} parents joined in 60 s") from None
        if counts[3] or counts[4]:
            why = f" (first: {counts[4][0]})" if counts[4] else ""
            raise RuntimeError(f"{counts[3] + len(counts[4])} of {n} parents could not join{why}")
        drain = asyncio.create_task(_drain(teacher))
        await asyncio.sleep(0.5)
        t0 = time.time()
        go_at[0] = t0 + 0.5  # latency after half a second of warm-up
        cpu_start = _cpu_now(pids)
        sent, k = 0, 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            k += 1
            msg = {"type": "path", "points": [[time.time(), 0.1, 0.2]], "segment": 0,
                   "label": "I", "repetition": 0}  # fmt: skip
            await teacher.send(json.dumps(msg))
            sent += 1
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        sending_s = time.time() - t0
        cpu_end = _cpu_now(pids)
        await asyncio.sleep(1.0)  # let the last messages arrive
        await teacher.send('{"type":"close"}')
        await asyncio.sleep(0.3)
        drain.cancel()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    arr = np.array(lat) * 1000.0 if lat else np.array([np.nan])
    return {
        "parents": n, "sent": sent, "received": counts[0],
        "delivered_share": counts[0] / max(1, sent * n),
        "messages_per_s": counts[0] / max(1e-9, sending_s),
        "latency_ms_p50": float(np.percentile(arr, 50)),
        "latency_ms_p95": float(np.percentile(arr, 95)),
        "latency_ms_p99": float(np.percentile(arr, 99)),
        "sending_s": sending_s,
        "join_s": t0 - join_started,
        "cpu_pct": [100 * (b - a) / (cpu_end[2] - cpu_start[2])
                    for a, b in zip(cpu_start[0], cpu_end[0], strict=True)],
        "client_cpu_pct": 100 * (cpu_end[1] - cpu_start[1]) / (cpu_end[2] - cpu_start[2]),
    }  # fmt: skip


async def _drain(ws) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


def bench_setup(setup: str, n: int, seconds: float, rate: float) -> dict:
    from coach.relay.process import RelayProcess, proc_rss_mb  # deferred: Starlette

    limits = ("--client-joins-per-minute", "1000000", "--class-joins-per-minute", "1000000")
    redis = LocalRedis().start() if setup == "redis" else None
    relays: list[RelayProcess] = []
    try:
        count = 2 if redis else 1
        for _ in range(count):
            relays.append(RelayProcess(redis.url if redis else None, extra_args=limits).start())
        pids = [r.proc.pid for r in relays] + ([redis.proc.pid] if redis else [])
        result = asyncio.run(_one_run([r.url for r in relays], n, seconds, rate, pids))
        cpu = result.pop("cpu_pct")
        result.update(
            setup="one relay, in memory" if not redis else "two relays + Redis",
            relay_cpu_pct=cpu[: len(relays)],  # while the instructor sends
            relay_rss_mb=[r.rss_mb() for r in relays],
            redis_cpu_pct=cpu[-1] if redis else None,
            redis_rss_mb=proc_rss_mb(redis.proc.pid) if redis else None,
            bench_client_cpu_pct=result.pop("client_cpu_pct"),
            load_average_1min=os.getloadavg()[0],
        )
        return result
    finally:
        for r in relays:
            r.stop()
        if redis:
            redis.stop()


def frame_cost(rounds: int = 3, frames: int = 150) -> dict:
    """Per-frame processing time of a parent's coach in a class vs alone (alternating
    runs on the same rendered frames; the first 10 frames of each run are left out)."""

    from coach.relay.server import EmbeddedRelay  # deferred: Starlette
    from coach.samples.synth import Sample  # deferred: PyAV, OpenCV
    from coach.services import classroom as cr  # deferred: OpenCV
    from coach.services.live import LiveCoach  # deferred: OpenCV

    sample = Sample("i-love-you", repetitions=2, size=(640, 480), fps=15.0)
    clip = [(f, t) for f, t in sample.frames(0, frames)]
    bf = sample.truth.body_frame()
    relay = EmbeddedRelay().start()
    session, teacher = cr.open_class(relay.url, "Bench", "i-love-you")
    stop = threading.Event()

    def instructor() -> None:  # 30 points a second along a wavy line
        t0, k = time.time(), 0
        while not stop.is_set():
            k += 1
            teacher.send_path(time.time() - t0, (0.3 + 0.2 * np.sin(k / 10), 0.5), segment=0)
            time.sleep(1 / 30)

    def one(kind: str) -> list[float]:
        client = None
        if kind == "alone":
            coach = LiveCoach(sample.stroke, bf)
        else:
            _, client = cr.join_class(relay.url, session.code, "Parent")
            coach = cr.ClassLiveCoach(sample.stroke, bf, link=cr.ParentLink(client))
        ms = []
        for f, t in clip:
            a = time.perf_counter()
            coach.process(f, t)
            ms.append(1000 * (time.perf_counter() - a))
        coach.close()
        if client is not None:
            if client.snapshot().relayed == 0:
                raise RuntimeError("no instructor point reached the simulated parent")
            client.stop()
        return ms[10:]

    threading.Thread(target=instructor, daemon=True).start()
    out: dict[str, list[float]] = {"alone": [], "class": []}
    try:
        for r in range(rounds):
            for kind in ("alone", "class") if r % 2 == 0 else ("class", "alone"):
                out[kind] += one(kind)
    finally:
        stop.set()
        teacher.stop()
        relay.stop()
    stats = {
        k: {"frames": len(v), "median_ms": statistics.median(v), "mean_ms": statistics.mean(v),
            "p95_ms": float(np.percentile(v, 95))}
        for k, v in out.items()
    }  # fmt: skip
    stats["class_over_alone_mean"] = stats["class"]["mean_ms"] / stats["alone"]["mean_ms"]
    stats["class_over_alone_median"] = stats["class"]["median_ms"] / stats["alone"]["median_ms"]
    return stats


def run(args: argparse.Namespace) -> int:
    if getattr(args, "frame_cost", False):
        try:
            r = frame_cost()
        except (RuntimeError, OSError) as exc:
            print(f"coach relay bench: {exc}", file=sys.stderr)
            return 1
        for k in ("alone", "class"):
            v = r[k]
            print(f"{k:<6} {v['frames']} frames: median {v['median_ms']:.1f} ms, "
                  f"mean {v['mean_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms")  # fmt: skip
        load = os.getloadavg()[0]
        print(f"class / alone: mean {r['class_over_alone_mean']:.3f}, "
              f"median {r['class_over_alone_median']:.3f}; load {load:.1f}")  # fmt: skip
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(r, f, indent=2)
        return 0
    checked = _check(args)
    if isinstance(checked, str):
        print(f"coach relay bench: {checked}", file=sys.stderr)
        return 2
    counts, setups = checked
    results = []
    print(f"coach relay bench: instructor sends {args.rate:g} messages/s for {args.seconds:g} s; "
          f"{os.cpu_count()} CPU cores; CPU % of one core while sending; load: the machine's "
          "1-minute load average (other work competes)", flush=True)  # fmt: skip
    head = (f"{'set-up':<22}{'parents':>8}{'msg/s':>10}{'deliv':>7}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'p99 ms':>9}{'relay CPU %':>14}{'relay MB':>12}{'redis CPU %':>12}"
            f"{'client CPU %':>13}{'join s':>8}{'load':>6}")  # fmt: skip
    print(head, flush=True)
    for setup in setups:
        if setup == "redis" and find_server() is None:
            print("two relays + Redis: skipped (no redis-server; `make redis-deps`)")
            continue
        for n in counts:
            try:
                r = bench_setup(setup, n, args.seconds, args.rate)
            except (RuntimeError, OSError) as exc:
                label = "one relay, in memory" if setup == "one" else "two relays + Redis"
                print(f"{label:<22}{n:>8}  failed: {exc}", flush=True)
                results.append({"setup": setup, "parents": n, "error": str(exc)})
                continue
            results.append(r)
            cpu = "+".join(f"{c:.0f}" for c in r["relay_cpu_pct"])
            mem = "+".join(f"{m:.0f}" for m in r["relay_rss_mb"])
            rc = "-" if r["redis_cpu_pct"] is None else f"{r['redis_cpu_pct']:.0f}"
            print(f"{r['setup']:<22}{n:>8}{r['messages_per_s']:>10.0f}{r['delivered_share']:>7.0%}"
                  f"{r['latency_ms_p50']:>9.1f}{r['latency_ms_p95']:>9.1f}{r['latency_ms_p99']:>9.1f}"
                  f"{cpu:>14}{mem:>12}{rc:>12}{r['bench_client_cpu_pct']:>13.0f}"
                  f"{r['join_s']:>8.1f}{r['load_average_1min']:>6.1f}", flush=True)  # fmt: skip
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=2)
    return 0
