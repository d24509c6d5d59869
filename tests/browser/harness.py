"""Real-browser harness: private network namespace, Streamlit server, headless Chromium.

Everything runs inside a network namespace the harness creates itself
(``unshare --net``), so no packet leaves this machine: inside it there is the
loopback (HTTP to Streamlit, a secure context for getUserMedia) and a veth pair
whose two ends carry the WebRTC ICE traffic (neither Chromium nor aiortc offers
loopback ICE candidates).

Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright (never
``playwright install``), with a fake webcam fed from a ``.y4m`` file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
NETNS_FLAG = "COACH_BROWSER_IN_NETNS"
VETH = ("vcoach0", "vcoach1")
VETH_ADDRS = ("10.231.77.1/24", "10.231.77.2/24")  # only ever exist inside our namespace
REPO = Path(__file__).resolve().parents[2]


# -- availability -------------------------------------------------------------------------


def unavailable_reason() -> str | None:
    """Why the real-browser test cannot run here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} missing (make browser-deps installs Debian's chromium)"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` missing (make browser-deps installs util-linux/iproute2)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright missing (pip install -e .[test])"
    probe = subprocess.run(
        [
            "unshare",
            "--net",
            "--",
            "ip",
            "link",
            "add",
            VETH[0],
            "type",
            "veth",
            "peer",
            "name",
            VETH[1],
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    if probe.returncode != 0:
        msg = (probe.stderr or probe.stdout).strip().splitlines()
        return (
            f"cannot create a private network namespace with a veth pair: {msg[-1] if msg else '?'}"
        )
    return None


# -- network namespace --------------------------------------------------------------------


def reexec_in_netns(argv: list[str]) -> int:
    """Run ``python argv...`` in a fresh network namespace; return its exit status."""
    env = dict(os.environ, **{NETNS_FLAG: "1"})
    cmd = ["unshare", "--net", "--", sys.executable, *argv]
    return subprocess.run(cmd, env=env, check=False).returncode


def setup_private_network() -> None:
    """Bring up lo and a veth pair inside the namespace we are in.

    Refuses to touch anything unless this process runs in a namespace that has
    nothing but a loopback device (i.e. one :func:`reexec_in_netns` just made).
    """
    if os.environ.get(NETNS_FLAG) != "1":
        raise RuntimeError("setup_private_network: not inside the harness's network namespace")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in links.splitlines() if ":" in line}
    if names != {"lo"}:
        raise RuntimeError(f"expected a fresh namespace with only lo, found {sorted(names)}")
    # No IPv6 in here: a link-local address that appears a second or two after the veth
    # comes up (duplicate address detection) makes Chromium see a network change and drop
    # the page's in-flight requests (ERR_NETWORK_CHANGED: a blank first page, seen in CI).
    for scope in ("all", "default"):
        with contextlib.suppress(OSError):  # a kernel without IPv6 has nothing to disable
            Path(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6").write_text("1")
    run = lambda *a: subprocess.run(["ip", *a], check=True)  # noqa: E731
    run("link", "set", "lo", "up")
    run("link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1])
    for dev, addr in zip(VETH, VETH_ADDRS, strict=True):
        run("addr", "add", addr, "dev", dev)
        run("link", "set", dev, "up")


# -- streamlit server ---------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(
    app: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """Start ``streamlit run app`` on loopback; yield its URL; stop it (by pid) on exit."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--global.developmentMode", "false",
    ]  # fmt: skip
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=dict(os.environ, **(env or {})), stdout=out, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy within 60 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()


# -- chromium -----------------------------------------------------------------------------


def chromium_args(video_file: Path) -> list[str]:
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video_file}",
        "--autoplay-policy=no-user-gesture-required",
    ]


def chromium_executable(folder: Path) -> str:
    """The Chromium to launch: as on a user's laptop, without the right to raise priorities.

    Run as root (CI, this sandbox), Chromium lifts its video, compositor and IO threads
    to nice -8, which an ordinary user's browser cannot do (it lacks CAP_SYS_NICE); the
    coach server, at nice 0, would then queue behind the browser on a two-core machine
    and the live numbers would describe no real laptop. So when we are root, Chromium is
    started through ``setpriv`` with CAP_SYS_NICE dropped from its bounding set: it runs
    at nice 0 like everything else. As a non-root user Chromium is already like that.
    """
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return CHROMIUM
    wrapper = folder / "chromium-as-user"
    wrapper.write_text(f'#!/bin/sh\nexec {setpriv} --bounding-set -sys_nice -- {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@contextlib.contextmanager
def chromium_context(playwright, video_file: Path, viewport=(1280, 1000)):
    """A persistent Chromium context with a fresh ``--user-data-dir`` and the fake webcam."""
    with (
        tempfile.TemporaryDirectory(prefix="coach-chromium-") as profile,
        tempfile.TemporaryDirectory(prefix="coach-chromium-bin-") as bindir,
    ):
        ctx = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_executable(Path(bindir)),
            headless=True,
            args=chromium_args(video_file),
            viewport={"width": viewport[0], "height": viewport[1]},
            permissions=["camera"],
        )
        try:
            yield ctx
        finally:
            ctx.close()


def component_frame(page, timeout_s: float = 60.0, button: str | None = "start"):
    """The streamlit-webrtc component's iframe (a Playwright Frame), once it shows ``button``
    (any button when None).

    A Streamlit rerun (a radio change, a busy server) can replace the iframe between the
    moment it is attached and the moment its document loads, so this looks it up again
    until the frame has content, instead of trusting the first element it saw.
    """
    deadline = time.monotonic() + timeout_s
    pattern = re.compile(f"^{button}$", re.I) if button else None
    last = "no iframe attached"
    while True:
        left_ms = max(1.0, deadline - time.monotonic()) * 1000
        try:
            iframe = page.locator('iframe[title*="webrtc_streamer"]').first
            iframe.wait_for(state="attached", timeout=min(left_ms, 5_000))
            handle = iframe.element_handle(timeout=min(left_ms, 5_000))
            frame = handle.content_frame() if handle is not None else None
            if frame is None:
                last = "the iframe has no content frame yet"
            else:
                buttons = frame.locator("button", has_text=pattern) if pattern else None
                (buttons or frame.locator("button")).first.wait_for(timeout=min(left_ms, 5_000))
                return frame
        except Exception as exc:  # noqa: BLE001 - a replaced iframe: look again
            last = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"the webrtc component did not show {button!r} in {timeout_s:.0f} s ({last})"
            )
        time.sleep(0.3)


def webrtc_frame(page, timeout_s: float = 60.0):
    """The component's iframe once it shows Start."""
    return component_frame(page, timeout_s, "start")


# -- latency probe (runs in the component iframe) -----------------------------------------

#: Injected before the page loads: wraps getUserMedia to keep the local stream and
#: logs (barcode, time) pairs for local camera frames and the remote annotated frames.
LATENCY_PROBE_JS = r"""
(() => {
  const BITS = %(bits)d, BLOCK = %(block)d, MARGIN = %(margin)d;
  const log = { local: [], remote: [] };
  window.__coachProbe = log;
  function reader(video, sink) {
    const canvas = document.createElement('canvas');
    canvas.width = BITS * BLOCK; canvas.height = BLOCK;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const step = (now, meta) => {
      try {
        const h = video.videoHeight;
        if (h > 0) {
          const W = BITS * BLOCK;
          ctx.drawImage(video, MARGIN, h - MARGIN - BLOCK, W, BLOCK, 0, 0, W, BLOCK);
          const px = ctx.getImageData(0, 0, BITS * BLOCK, BLOCK).data;
          let v = 0;
          for (let b = 0; b < BITS; b++) {
            const x = b * BLOCK + (BLOCK >> 1), y = BLOCK >> 1;
            const i = (y * BITS * BLOCK + x) * 4;
            const lum = (px[i] + px[i + 1] + px[i + 2]) / 3;
            v = (v << 1) | (lum > 128 ? 1 : 0);
          }
          sink.push([v, meta.captureTime || 0, meta.expectedDisplayTime || now, now]);
          if (sink.length > 20000) sink.splice(0, 10000);
        }
      } catch (e) {}
      video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
  }
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const orig = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => {
      const stream = await orig(c);
      if (stream.getVideoTracks().length) {
        const v = document.createElement('video');
        v.muted = true; v.playsInline = true; v.autoplay = true;
        v.style.cssText = 'position:fixed;left:-10000px;width:64px;height:48px';
        v.srcObject = stream; document.documentElement.appendChild(v); v.play();
        reader(v, log.local);
      }
      return stream;
    };
  }
  // Keep the page's peer connections: on a failed call, their stats say which way the
  // media stopped (ICE state, packets and frames sent and received).
  const pcs = [];
  window.__coachPcs = pcs;
  if (window.RTCPeerConnection) {
    const Orig = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...a) {
      const pc = new Orig(...a); pcs.push(pc); return pc;
    };
    window.RTCPeerConnection.prototype = Orig.prototype;
  }
  const seen = new WeakSet();
  setInterval(() => {
    for (const v of document.querySelectorAll('video')) {
      if (!seen.has(v) && v.srcObject && !v.style.cssText.includes('-10000px')) {
        seen.add(v); reader(v, log.remote);
      }
    }
  }, 200);
})();
"""


#: Evaluated in the component iframe: each peer connection's states and RTP counters.
PEER_STATS_JS = r"""
async () => {
  const out = [];
  for (const pc of (window.__coachPcs || [])) {
    const entry = { connection: pc.connectionState, ice: pc.iceConnectionState,
                    signaling: pc.signalingState, rtp: [] };
    try {
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type === 'inbound-rtp' || r.type === 'outbound-rtp') {
          entry.rtp.push({ type: r.type, kind: r.kind, packets: r.packetsReceived ?? r.packetsSent,
                           frames: r.framesDecoded ?? r.framesEncoded ?? r.framesSent });
        }
      });
    } catch (e) { entry.error = String(e); }
    out.push(entry);
  }
  return out;
}
"""


def latency_probe_script() -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    import fake_webcam as fw

    return LATENCY_PROBE_JS % {
        "bits": fw.BARCODE_BITS,
        "block": fw.BLOCK_PX,
        "margin": fw.BARCODE_MARGIN_PX,
    }


def latency_ms(local: list, remote: list) -> list[float]:
    """End-to-end latencies: remote annotated frame shown minus the same camera frame captured.

    Entries are ``[barcode, captureTime, expectedDisplayTime, now]`` (ms, page clock).
    For each remote frame the latest local frame with the same barcode before it is used.
    """
    last_local: dict[int, float] = {}
    out: list[float] = []
    events = [(e[3], 0, e) for e in local] + [(e[3], 1, e) for e in remote]
    events.sort(key=lambda t: (t[0], t[1]))
    seen_remote: set[tuple[int, float]] = set()
    for _, kind, e in events:
        code, capture, display, now = e
        if kind == 0:
            last_local[code] = capture or now
        elif code in last_local:
            key = (code, last_local[code])
            if key in seen_remote:
                continue  # the same camera frame shown again (server resent the last one)
            seen_remote.add(key)
            out.append((display or now) - last_local[code])
    return out
