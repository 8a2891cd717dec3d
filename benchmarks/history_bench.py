"""A year of history: time and peak memory of each step the lead and the managers wait for, at 1k / 10k / 100k calls.

Run: python benchmarks/history_bench.py --sizes 1000 10000 [--dbdir /tmp/history-bench] [--steps team readiness]

Each size's history is made once by ``make_history.py`` (kept in ``--dbdir``, reused by later runs); each step runs
in a fresh process of its own, so its peak RSS is its own (the interpreter and imports included, the database open
included, the process start not; the review app's pages after the app's own imports, as a server has them before its
first page: the SQLite cache is cold, the modules are not). Steps: saving one call (mean of 50 new calls), the
review app's team page and a manager's page (the view data the app renders), ``readiness`` (every manager),
``daily`` (one manager, the last day), ``export --by week`` / ``--by month`` (the whole year), report writing (the
last week's calls: a call page costs the same at any size), the whole year's report (``report_year``;
``report_year_lite`` reads every call and its transcript but renders no call page, which costs the same per page at
any size, so that 100k calls take minutes, not an hour), ``export --by call`` over the year, re-scoring (the last
two days: scoring a call costs the same at any size), and the batch's main process over folders of ``--batch-files``
transcripts (e.g. 100 1000 5000; scored in a pool of 2 workers, into a new database: the history's size plays no
part; with ``--batch-canned`` every call is scored as the first one was, so 100,000 files take minutes: the walk,
the plan, the history's lookups, saving every call and the summary are the batch's own).
``--json FILE`` keeps the figures; ``--compare BEFORE.json`` prints both side by side with the ratio.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = ["save", "team", "manager", "readiness", "daily", "export_week", "export_month", "export_call", "report",
         "report_year", "report_year_lite", "rescore", "batch"]
LAST_DAY = "2026-11-30"
WEEK_AGO = "2026-11-24"     # report writing: the last week's call pages (their cost is per page, not per history)
DAYS_AGO = "2026-11-27"     # re-scoring: the last two working days (scoring costs the same per call at any size)


def _save(db: Path) -> float:
    from compliance.history.store import Store

    with Store(db) as store:
        base = store.call(store.query("SELECT call_id FROM calls WHERE kind = 'audio' LIMIT 1")[0][0])
        meta = store.call_meta(base.call_id)
        assert base is not None and meta is not None
        records = []
        for i in range(50):
            cid = f"bench{time.time_ns():x}{i:03d}"
            key = f"bench/{cid}.wav"
            records.append((base.model_copy(update={"call_id": cid, "file": f"/calls/{key}"}),
                            meta.model_copy(update={"source_root": "/calls", "source_key": key, "content_hash": cid})))
        t = time.perf_counter()
        for record, m in records:
            store.save_call(record, m)
        return (time.perf_counter() - t) / len(records)


def _team(db: Path) -> float:
    import compliance.web.app  # noqa: F401  (what the server has imported before its first page)
    from compliance.history.store import Store
    from compliance.web.views import team_view

    with Store(db) as store:
        t = time.perf_counter()
        team_view(store)
        return time.perf_counter() - t


def _manager(db: Path) -> float:
    import compliance.web.app  # noqa: F401  (what the server has imported before its first page)
    from compliance.history.store import Store
    from compliance.web.views import manager_view

    with Store(db) as store:
        t = time.perf_counter()
        manager_view(store, "m01")
        return time.perf_counter() - t


def _readiness(db: Path) -> float:
    from compliance.history.readiness import history_readiness
    from compliance.history.store import Store

    t = time.perf_counter()
    with Store(db, read_only=True) as store:
        history_readiness(store, None, None)
    return time.perf_counter() - t


def _daily(db: Path) -> float:
    from compliance.history.daily import daily_report, manager_matches
    from compliance.history.store import Store

    t = time.perf_counter()
    with Store(db, read_only=True) as store:
        manager_matches(store, "m01")
        assert store.has_calls("m01")
        daily_report(store, "m01", LAST_DAY)
    return time.perf_counter() - t


def _export(by: str) -> Callable[[Path], float]:
    def run(db: Path) -> float:
        from compliance.history.daily import render_table
        from compliance.history.periods import PeriodRow, period_rows
        from compliance.history.store import Store

        t = time.perf_counter()
        with Store(db) as store:
            rows = period_rows(store, by)
            render_table([r.model_dump() for r in rows], "csv", list(PeriodRow.model_fields))
        return time.perf_counter() - t
    return run


def _export_calls(db: Path) -> float:
    """``compliance export --by call`` over the whole year, to a file."""
    from click.testing import CliRunner

    from compliance.cli import cli

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result = CliRunner().invoke(cli, ["export", "--by", "call", "--db", str(db), "-o", str(Path(tmp) / "c.csv")])
        assert result.exit_code == 0, result.output
        return time.perf_counter() - t


def _report(since: str | None, pages: bool = True) -> Callable[[Path], float]:
    def run(db: Path) -> float:
        from compliance.history.store import Store
        from compliance.reports import write_reports_from_store

        if not pages:  # each call's record and transcript still read, its page not rendered
            from compliance.reports import stream

            stream._Writer._call_page = _read_only_page  # type: ignore[method-assign]

        with tempfile.TemporaryDirectory() as tmp, Store(db, read_only=True) as store:
            t = time.perf_counter()
            write_reports_from_store(store, Path(tmp) / "reports", since=since, until=LAST_DAY)
            return time.perf_counter() - t
    return run


def _read_only_page(self: Any, m: Any, i: int, rec: Any) -> None:
    if not m.digests:
        (self.folder(m) / "calls").mkdir(parents=True)
    if self.transcript_of is not None:
        self.transcript_of(rec.call_id)


def _rescore(db: Path) -> float:
    from compliance.history.rescore import rescore_history
    from compliance.history.store import Store

    with Store(db) as store:
        t = time.perf_counter()
        rescore_history(store, since=dt.date.fromisoformat(DAYS_AGO), until=dt.date.fromisoformat(LAST_DAY))
        return time.perf_counter() - t


def _batch(files: int, canned: bool = False) -> Callable[[Path], float]:
    def run(db: Path) -> float:
        from compliance.batch.models import BatchOptions
        from compliance.batch.run import run_batch

        if canned:
            _can_scoring()
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "calls"
            _transcripts(folder, files)
            t = time.perf_counter()
            summary = run_batch(BatchOptions(folder=folder, db=Path(tmp) / "batch.db", workers=1 if canned else 2))
            AFTER["batch_end_mb"] = _rss_mb()  # what the main process still holds, the summary alive (the peak
            # can be the models' load)
            assert summary.analysed == files and summary.failed == 0, summary.model_dump_json(exclude={"kpi"})
            assert sum(1 for _ in getattr(summary, "iter_files", lambda: summary.files)()) == files  # (older code: a list)
            return time.perf_counter() - t
    return run


def _can_scoring() -> None:
    """``--batch-canned``: the batch's real code path (walk, plan, the history's lookups, saving every call, the
    summary), but each call's scoring is the first call's result, scored for real once in a child process (as a
    pool worker would), so 100,000 files take minutes and the main process loads no scoring model."""
    import concurrent.futures as cf
    import multiprocessing

    from compliance.batch import execute, workers

    setup: list[tuple] = []
    done: dict[Any, Any] = {}

    def remember(*args: Any, **kwargs: Any) -> None:
        setup.append((args, kwargs))

    def canned_work(task: Any) -> Any:
        key = (task.script, tuple(task.candidates))
        if key not in done:
            (scripts_json, options_json, cache_dir, *rest), kwargs = setup[-1]
            seed = kwargs.get("seed", rest[1] if len(rest) > 1 else b"")
            with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=workers._init_worker,
                                        initargs=(scripts_json, options_json, cache_dir, 0, seed)) as pool:
                done[key] = pool.submit(workers._work, task).result()
        return done[key]

    execute._setup = remember  # type: ignore[assignment]
    execute._work = canned_work  # type: ignore[assignment]


def _transcripts(folder: Path, files: int) -> None:
    """``files`` text transcripts of 10 managers (``manager/date/…``), each a short scripted call."""
    lines = ["М: Добрый день, Ольга! Меня зовут Мария, компания «Смарт Мейкер». Вам удобно говорить?",
             "К: Да, слушаю.", "М: Что для вас сейчас главное, какая задача?", "К: Нужен сайт до конца месяца.",
             "М: Да, мы это сделаем. Когда вы планируете оплату?", "К: На следующей неделе.",
             "М: Тогда я пришлю счёт и перезвоню в четверг. Всего доброго!"]
    for i in range(files):
        path = folder / f"m{i % 10 + 1:02d}" / f"2026-11-{i % 28 + 1:02d}" / f"call-{i:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines + [f"К: Номер заказа {i}."]), encoding="utf-8")


def _runner(step: str, batch_files: int, canned: bool = False) -> Callable[[Path], float]:
    table: dict[str, Callable[[Path], float]] = {
        "save": _save, "team": _team, "manager": _manager, "readiness": _readiness, "daily": _daily,
        "export_week": _export("week"), "export_month": _export("month"), "export_call": _export_calls,
        "report": _report(WEEK_AGO), "report_year": _report(None), "report_year_lite": _report(None, pages=False),
        "rescore": _rescore,
        "batch": _batch(batch_files, canned)}
    return table[step]


AFTER: dict[str, float] = {}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _child(step: str, db: Path, batch_files: int, canned: bool) -> None:
    seconds = _runner(step, batch_files, canned)(db)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **AFTER}))


def _measure(step: str, db: Path, batch_files: int, canned: bool = False) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", step, "--db", str(db),
                           "--batch-files", str(batch_files)] + (["--batch-canned"] if canned else []),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _history(dbdir: Path, size: int) -> Path:
    db = dbdir / f"history-{size}.db"
    if not db.exists():
        from benchmarks.make_history import make_history

        made = make_history(db, size)
        print(f"made {size} calls in {made['seconds']:.0f} s → {db}", flush=True)
    return db


def _copy(db: Path, work: Path) -> None:
    import sqlite3

    src, dst = sqlite3.connect(db), sqlite3.connect(work)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _cell(figure: dict[str, Any], step: str) -> str:
    if "error" in figure:
        return "error"
    unit = f"{figure['seconds'] * 1000:.1f} ms" if step == "save" else f"{figure['seconds']:.2f} s"
    end = f" (at the end {figure['batch_end_mb']:.0f} MB)" if "batch_end_mb" in figure else ""
    return f"{unit}, {figure['peak_mb']:.0f} MB{end}"


def _print(results: dict[str, dict[str, dict[str, Any]]], before: dict[str, Any] | None) -> None:
    sizes = list(results)
    print("\n| step | " + " | ".join(f"{s} calls" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    labels = list(dict.fromkeys(label for figures in results.values() for label in figures))
    for step in labels:
        cells = []
        for size in sizes:
            now = results[size].get(step)
            if now is None:
                cells.append("—")
                continue
            old = (before or {}).get(size, {}).get(step)
            if old and "error" not in old and "error" not in now:
                ratio = old["seconds"] / now["seconds"] if now["seconds"] else float("inf")
                cells.append(f"{_cell(old, step)} → {_cell(now, step)} ({ratio:.1f}×)")
            else:
                cells.append(_cell(now, step))
        print(f"| {step} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=STEPS)
    parser.add_argument("--dbdir", type=Path, default=Path(tempfile.gettempdir()) / "history-bench")
    parser.add_argument("--batch-files", type=int, nargs="+", default=[200],
                        help="Batch sizes to measure (files each), e.g. 100 1000 5000.")
    parser.add_argument("--batch-canned", action="store_true",
                        help="Batch: score the first call for real and reuse its result for every file (see _can_scoring).")
    parser.add_argument("--json", type=Path, default=None, help="Keep the figures in this file.")
    parser.add_argument("--compare", type=Path, default=None, help="Figures of an earlier run to compare with.")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.db, args.batch_files[0], args.batch_canned)
        return
    args.dbdir.mkdir(parents=True, exist_ok=True)
    before = json.loads(args.compare.read_text()) if args.compare else None
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for size in args.sizes:
        db = _history(args.dbdir, size)
        work = args.dbdir / f"work-{size}.db"   # steps that write (save, rescore) change a copy
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        _copy(db, work)
        results[str(size)] = {}
        for step in args.steps:
            for files in (args.batch_files if step == "batch" else [0]):
                label = (f"batch {files} files" + (" (canned)" if args.batch_canned else "")) if step == "batch" else step
                figure = _measure(step, work, files, args.batch_canned)
                results[str(size)][label] = figure
                print(f"{size:>7} {label:<17} {_cell(figure, step)}" + (f" ({figure['error']})" if "error" in figure
                                                                        else ""), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    _print(results, before)


if __name__ == "__main__":
    main()
