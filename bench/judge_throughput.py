"""Judge runner throughput against a loopback server with fixed latency per request.

500 pairs x 2 orders x 2 judges (one OpenAI-format, one Anthropic-format judge, so two
providers with their own concurrency limit) = 2000 requests at 100 ms each. Prints:

- sequential: the one-request-at-a-time loop of textbook examples (official sync SDK clients,
  call, parse). It would take ~200 s in full, so it runs on a sample and is extrapolated;
- runner: ``sidebyside judge`` through the Python API (async, cache lookups, a committed row
  per result, reconciliation, ensemble);
- bare async SDKs: the same requests through the async SDKs with a semaphore per provider
  and nothing else, i.e. what this machine and the SDKs allow;
- floor: requests x latency / total concurrency, the best any client could do;
- cached rerun: the same run again, which must send zero requests.

The server runs in its own process (tests/judge_server.py) so it does not share the GIL with
the client. Usage: python bench/judge_throughput.py [--pairs 500] [--latency 0.1]

``--batch-pairs N`` (default 10,000; 0 skips it) adds the batch scenario: N pairs x 2 orders
through the OpenAI Batch API wire format (one batch per 50,000 requests): submission time
(plan, request lines, upload, create, record), ingestion time (poll, download, parse, write
the rows, reconcile; the server answers the batch before the clock starts) and rows/s; the
baseline is the live runner on a 1,000-request sample at zero latency, in the same process.
Then a cached ``sidebyside judge --batch`` rerun as a subprocess: its process time (user +
system CPU; target < 1 s) and the requests it sent (0). ``--only-batch`` skips the live
scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from sidebyside.foundation.db import get_engine, init_db  # noqa: E402
from sidebyside.judge.parsing import parse_pairwise  # noqa: E402
from sidebyside.judge.service import JudgeRunConfig, plan, run_judges  # noqa: E402
from tests.judge_helpers import make_study  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "judge_server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    port = int(proc.stdout.readline())
    return proc, port


def server_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats") as response:
        return json.loads(response.read())["requests"]


def sequential(tasks, port: int, sample: int) -> tuple[float, int]:
    """The textbook loop on the first ``sample`` calls (alternating the two judges)."""
    import anthropic
    import openai

    oa = openai.OpenAI(api_key="x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    an = anthropic.Anthropic(api_key="x", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    by_provider = {"openai": [], "anthropic": []}
    for task in tasks:
        by_provider[task.spec.provider].append(task)
    chosen = [
        t
        for pair in zip(by_provider["openai"], by_provider["anthropic"], strict=False)
        for t in pair
    ][:sample]
    start = time.perf_counter()
    for task in chosen:
        messages = list(task.request.messages)
        if task.spec.provider == "openai":
            reply = oa.chat.completions.create(
                model=task.spec.model, messages=messages, temperature=0, max_tokens=512
            )
            text = reply.choices[0].message.content
        else:
            reply = an.messages.create(
                model=task.spec.model,
                system=messages[0]["content"],
                messages=messages[1:],
                max_tokens=512,
            )
            text = reply.content[0].text
        parse_pairwise(text)
    return time.perf_counter() - start, len(chosen)


def bare_async(tasks, port: int, concurrency: int) -> float:
    """The same requests with the async SDKs and a semaphore per provider, and nothing else
    (no cache, no parsing, no database): what this machine and these SDKs allow."""
    import asyncio

    import anthropic
    import openai

    async def go() -> float:
        oa = openai.AsyncOpenAI(api_key="x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
        an = anthropic.AsyncAnthropic(
            api_key="x", base_url=f"http://127.0.0.1:{port}", max_retries=0
        )
        sems = {
            "openai": asyncio.Semaphore(concurrency),
            "anthropic": asyncio.Semaphore(concurrency),
        }

        async def one(task) -> None:
            messages = list(task.request.messages)
            async with sems[task.spec.provider]:
                if task.spec.provider == "openai":
                    await oa.chat.completions.create(
                        model=task.spec.model, messages=messages, temperature=0, max_tokens=512
                    )
                else:
                    await an.messages.create(
                        model=task.spec.model,
                        system=messages[0]["content"],
                        messages=messages[1:],
                        max_tokens=512,
                    )

        start = time.perf_counter()
        await asyncio.gather(*(one(t) for t in tasks))
        elapsed = time.perf_counter() - start
        await oa.close()
        await an.close()
        return elapsed

    return asyncio.run(go())


def make_big_study(engine, name: str, n: int):
    """``n`` prompts, two systems, one pair each, inserted in bulk (make_study flushes per row,
    too slow for 10k prompts)."""
    from sqlalchemy import insert, select

    from sidebyside.foundation.models import Output, Pair, Prompt, Study, System
    from sidebyside.foundation.rubric import default_rubric

    with Session(engine) as s:
        study = Study(name=name, rubric=default_rubric().model_dump(), k=1, seed=3)
        s.add(study)
        s.flush()
        systems = [System(study_id=study.id, name=x) for x in ("base", "tuned")]
        s.add_all(systems)
        s.flush()
        s.execute(
            insert(Prompt),
            [
                {
                    "study_id": study.id,
                    "external_id": f"p{i}",
                    "text": f"{name} question {i}: what is {i} + {i}?",
                }
                for i in range(n)
            ],
        )
        ids = s.execute(select(Prompt.id).where(Prompt.study_id == study.id)).scalars().all()
        s.execute(
            insert(Output),
            [
                {
                    "prompt_id": p,
                    "system_id": sy.id,
                    "text": f"{sy.name} says {2 * k}." + " Indeed." * j,
                }
                for k, p in enumerate(ids)
                for j, sy in enumerate(systems)
            ],
        )
        outs = s.execute(
            select(Output.prompt_id, Output.id).where(Output.prompt_id.in_(ids)).order_by(Output.id)
        ).all()
        by_prompt: dict[int, list[int]] = {}
        for p, o in outs:
            by_prompt.setdefault(p, []).append(o)
        s.execute(
            insert(Pair),
            [
                {"study_id": study.id, "prompt_id": p, "output_a_id": o[0], "output_b_id": o[1]}
                for p, o in by_prompt.items()
            ],
        )
        s.commit()
        return study.id


def post(port: int, path: str, body: dict) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST")
    urllib.request.urlopen(request).read()


def stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats") as response:
        return json.loads(response.read())


def cli_rerun(url: str, study: str, judges: list[str], *extra: str) -> tuple[float, float]:
    """Run ``sidebyside judge`` as a subprocess: (process time = user + system CPU, wall)."""
    import resource

    cmd = [sys.executable, "-c", "from sidebyside.cli.main import main; main()", "judge", study]
    for judge in judges:
        cmd += ["-j", judge]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    env = os.environ | {"SIDEBYSIDE_DATABASE_URL": url}
    subprocess.run([*cmd, *extra], env=env, check=True, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def batch_scenario(n_pairs: int) -> None:
    from sqlmodel import select

    from sidebyside.foundation.models import JudgeBatch

    tmp = Path(tempfile.mkdtemp(prefix="sbs-bench-batch-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = init_db(get_engine(url))
    proc, port = start_server(0.0)
    try:
        spec = f"openai:gpt-4o-mini@http://127.0.0.1:{port}/v1"
        sample = make_big_study(engine, "live-sample", 500)
        start = time.perf_counter()
        run_judges(engine, sample, JudgeRunConfig(judges=[spec]))
        live_per_row = (time.perf_counter() - start) / 1000
        study = make_big_study(engine, "batch", n_pairs)
        rows = 2 * n_pairs
        post(port, "/_hold", {"hold": True})
        config = JudgeRunConfig(judges=[spec], batch=True, wait=False)
        start = time.perf_counter()
        run_judges(engine, study, config)
        submit_s = time.perf_counter() - start
        post(port, "/_hold", {"hold": False})
        with Session(engine) as session:  # let the server finish its work outside the timing
            for batch_id in session.exec(select(JudgeBatch.batch_id)).all():
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/batches/{batch_id}").read()
        config = JudgeRunConfig(judges=[spec], batch=True, poll_s=0.01)
        start = time.perf_counter()
        summary = run_judges(engine, study, config)
        ingest_s = time.perf_counter() - start
        assert summary.judges[0].n_verdicts == n_pairs, summary.judges[0]
        created = stats(port)["batches_created"]["openai"]
        before = stats(port)
        cpu, wall = cli_rerun(url, "batch", [spec], "--batch")
        sent = stats(port)["requests"] - before["requests"]
        resubmitted = stats(port)["batches_created"]["openai"] - created
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"batch scenario: {n_pairs} pairs x 2 orders = {rows} requests, OpenAI Batch wire "
        f"format ({created} batch(es)), {os.cpu_count()} CPU(s)"
    )
    print(f"  submission        {submit_s:8.2f} s  ({rows / submit_s:,.0f} requests/s)")
    print(f"  ingestion         {ingest_s:8.2f} s  ({rows / ingest_s:,.0f} rows/s written)")
    print(f"  live baseline     {live_per_row * 1000:8.2f} ms/request at 0 latency (1,000 sample)")
    print(f"  ingestion / live  {ingest_s / rows / live_per_row:8.2f} x  (per row)")
    print(
        f"  cached rerun CLI  {cpu:8.2f} s process time ({wall:.2f} s wall), {sent} "
        f"requests, {resubmitted} batches  (target < 1 s, 0, 0)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=16, help="per provider")
    parser.add_argument("--sequential-sample", type=int, default=50)
    parser.add_argument("--batch-pairs", type=int, default=10_000)
    parser.add_argument("--only-batch", action="store_true")
    args = parser.parse_args()
    if args.batch_pairs:
        batch_scenario(args.batch_pairs)
    if args.only_batch:
        return

    tmp = Path(tempfile.mkdtemp(prefix="sbs-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = init_db(get_engine(url))
    proc, port = start_server(args.latency)
    try:
        with Session(engine) as session:
            study = make_study(session, name="bench", n_prompts=args.pairs)
        judges = [
            f"openai:bench-gpt@http://127.0.0.1:{port}/v1",
            f"anthropic:bench-claude@http://127.0.0.1:{port}",
        ]
        config = JudgeRunConfig(judges=judges, concurrency=args.concurrency)
        with Session(engine) as session:
            tasks = plan(session, study, config)
        n = len(tasks)
        total_concurrency = args.concurrency * len(judges)
        floor = n * args.latency / total_concurrency

        seq_s, seq_n = sequential(tasks, port, args.sequential_sample)
        seq_full = seq_s / seq_n * n
        bare_s = bare_async(tasks, port, args.concurrency)
        before = server_count(port)

        start = time.perf_counter()
        summary = run_judges(engine, study.id, config)
        runner_s = time.perf_counter() - start
        sent = server_count(port) - before
        assert sent == n, f"expected {n} requests, server saw {sent}"
        assert all(j.n_verdicts == args.pairs for j in summary.judges), summary.judges

        before = server_count(port)
        start = time.perf_counter()
        run_judges(engine, study.id, config)
        cached_s = time.perf_counter() - start
        cached_sent = server_count(port) - before
        before = server_count(port)
        cli_cpu, cli_wall = cli_rerun(url, "bench", judges)
        cli_sent = server_count(port) - before
    finally:
        proc.terminate()
        proc.wait()

    print(
        f"judge throughput: {args.pairs} pairs x 2 orders x {len(judges)} judges = {n} "
        f"requests, {args.latency * 1000:.0f} ms latency, concurrency {args.concurrency} "
        f"per provider ({total_concurrency} total), {os.cpu_count()} CPU(s)"
    )
    print(
        f"  sequential loop   {seq_full:8.1f} s  (extrapolated from {seq_n} requests "
        f"in {seq_s:.1f} s)"
    )
    print(f"  bare async SDKs   {bare_s:8.2f} s  (same requests, no cache/parse/DB)")
    print(f"  runner            {runner_s:8.2f} s  ({n / runner_s:.0f} requests/s)")
    print(f"  floor             {floor:8.2f} s  (requests x latency / concurrency)")
    print(f"  runner / floor    {runner_s / floor:8.2f} x  (target <= 1.5)")
    print(f"  runner / bare     {runner_s / bare_s:8.2f} x  (the runner's own overhead)")
    print(f"  speed-up vs sequential {seq_full / runner_s:5.1f} x")
    print(f"  cached rerun      {cached_s:8.2f} s  ({cached_sent} requests; target < 1 s, 0)")
    print(
        f"  cached rerun CLI  {cli_cpu:8.2f} s process time ({cli_wall:.2f} s wall, "
        f"{cli_sent} requests; target < 1 s, 0)"
    )


if __name__ == "__main__":
    main()
