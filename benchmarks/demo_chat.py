"""The chat acceptance check of issue 12: `servicepulse up --demo` posting to a local webhook; prints the chat
messages of the first N minutes (at most 10 in 10 minutes wanted) and whether every alert stored by then is
listed in a digest (waiting at most --settle more minutes for the ones the batch slot or the rate limit held).

    python benchmarks/demo_chat.py [--minutes 10] [--settle 12] [--kind generic]

Runs `up --demo` in a temporary run directory on free ports, with the default alert settings unless the
environment sets ALERTS__*; the webhook receiver answers 200 and keeps every body. Figures are printed, the
exit status is 1 when the check fails.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from servicepulse.devstack.broker import free_port

# The tests' webhook receiver (standard library only), from the repository this script is run in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.factories.chat import ChatServer


def stored_alerts(port: int) -> set[str]:
    query = urllib.parse.quote("SELECT DISTINCT alert_id FROM servicepulse.alerts FORMAT TSV")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?query={query}", timeout=10) as answer:
            return {line for line in answer.read().decode().splitlines() if line}
    except OSError:
        return set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="The window counted (issue 12: 10)")
    parser.add_argument("--settle", type=float, default=12.0, help="Longest extra wait for held items, minutes")
    parser.add_argument("--limit", type=int, default=10, help="Most messages allowed in the window")
    parser.add_argument("--kind", default="generic", help="Payload kind posted (generic lets the check read items)")
    args = parser.parse_args()
    started = time.monotonic()
    receiver = ChatServer()
    store_port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix="demo-chat-"))
    env = dict(os.environ) | {
        "KAFKA__EMBEDDED_PORT": str(free_port()), "CLICKHOUSE__EMBEDDED_PORT": str(store_port),
        "ALERTS__WEBHOOK_URL": receiver.url,
        "ALERTS__WEBHOOK_FORMAT": args.kind,
    }
    up = subprocess.Popen([sys.executable, "-m", "servicepulse.cli.main", "up", "--demo", "--run-dir", str(run_dir)],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    window_s = args.minutes * 60
    try:
        while time.monotonic() - started < window_s:
            time.sleep(5)
            if up.poll() is not None:
                print(f"up exited with {up.returncode}; logs in {run_dir}/logs")
                return 1
        in_window = [p for p in receiver.posts if p.at - started <= window_s]
        alerts = stored_alerts(store_port)
        deadline = time.monotonic() + args.settle * 60
        while time.monotonic() < deadline and not alerts <= set(receiver.listed()):
            time.sleep(5)
        listed = receiver.listed()
        missing = alerts - set(listed)
        repeated = {a: n for a, n in listed.items() if n > 1}
        keys = Counter(p.key for p in receiver.posts)
        print(f"[demo chat] first {args.minutes:g} min: messages {len(in_window)} (limit {args.limit}), items listed "
              f"{sum(len(p.alert_ids) for p in in_window)}; alerts stored by then "
              f"{len(alerts)}, listed by the end {len(alerts) - len(missing)}, missing {len(missing)}, listed twice "
              f"{len(repeated)}, digests posted twice {sum(n - 1 for n in keys.values())}; messages in all "
              f"{len(receiver.posts)} after {(time.monotonic() - started) / 60:.1f} min")
        for post in receiver.posts:
            sections = ", ".join(f"{s['rule_id']}/{s['scope'] or '-'}:{len(s['items'])}" for s in post.body["sections"])
            print(f"  {(post.at - started) / 60:5.1f} min  {sections}")
        ok = len(in_window) <= args.limit and not missing and not repeated and all(n == 1 for n in keys.values())
        print("[demo chat] " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        receiver.close()


if __name__ == "__main__":
    raise SystemExit(main())
