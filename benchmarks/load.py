"""Load test of the launched app: 16 concurrent clients, several jobs each, through the API.

    python benchmarks/load.py [--clients 16] [--jobs 3]

Every job must either be served (and get back its own seed and prompt: results reach the
right caller) or be told plainly that the queue is full; the server's memory (RSS) before and
after is printed. Traffic goes to 127.0.0.1 only, bounded in count and time. Results are a
measurement, not a test: no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_server import AppServer  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_client(url: str, k: int, jobs: int) -> list[dict]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    out = []
    for j in range(jobs):
        seed, prompt = 1000 * k + j, ["red apple", "cat face", "rocket", "pizza"][(k + j) % 4]
        t = time.perf_counter()
        try:
            res = client.predict(prompt, "", seed, False, 8, 3.0, "euler", 1, api_name="/generate")
            ok = res[2] == seed and f"seed {seed}" in res[3]
            out.append({"client": k, "job": j, "result": "served" if ok else "WRONG CALLER", "s": time.perf_counter() - t})
        except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
            msg = str(e)
            out.append({"client": k, "job": j, "result": "queue full" if "queue" in msg.lower() and "full" in msg.lower() else f"ERROR: {msg[:120]}",
                        "s": time.perf_counter() - t})
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--jobs", type=int, default=3)
    args = p.parse_args()
    server = AppServer()
    try:
        from gradio_client import Client

        Client(server.url, verbose=False).predict("warm up", "", 0, False, 4, 3.0, "euler", 1, api_name="/generate")
        before = rss_mb(server.proc.pid)
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(args.clients) as pool:
            rows = [r for f in [pool.submit(one_client, server.url, k, args.jobs) for k in range(args.clients)] for r in f.result()]
        wall = time.perf_counter() - t0
        after = rss_mb(server.proc.pid)
        alive = Client(server.url, verbose=False).predict("red heart", "", 1, False, 4, 3.0, "euler", 1, api_name="/generate")[2] == 1
    finally:
        server.stop()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    served = sorted(r["s"] for r in rows if r["result"] == "served")
    summary = {"cpu": platform.processor() or platform.machine(), "clients": args.clients, "jobs_each": args.jobs, "outcomes": counts,
               "wall_s": round(wall, 1), "served_latency_median_s": round(served[len(served) // 2], 2) if served else None,
               "served_latency_max_s": round(served[-1], 2) if served else None,
               "server_rss_mb_before": round(before), "server_rss_mb_after": round(after), "server_answers_after": alive}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
