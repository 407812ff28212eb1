"""The ``ragward`` command line (typer + rich).

Exit codes: 0 no finding at or above ``--fail-on``; 1 one does; 2 usage or
configuration error (one line on stderr, never a traceback); 3 the target
failed; 130 interrupted (planted documents are still removed).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragward.engine.cleanup import cleanup_target
from ragward.engine.planner import select
from ragward.engine.runner import run_scan
from ragward.engine.spec import test_profiles
from ragward.errors import ConfigError, RagwardError
from ragward.model import Outcome, RunSummary, Severity, Suite, TestResult
from ragward.targets.base import Target
from ragward.targets.config import LabTargetConfig, build_target, load_target_config

app = typer.Typer(
    name="ragward",
    help="Security scanner for retrieval-augmented generation (RAG) pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tests_app = typer.Typer(help="The test catalogue.", no_args_is_help=True)
app.add_typer(tests_app, name="tests")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
OUTCOME_STYLE = {Outcome.PASSED: "green", Outcome.FAILED: "bold red", Outcome.SKIPPED: "dim"}


#: The demo's seed: with one test at a time, `ragward demo` prints the same results every run (README).
DEMO_SEED = 20261130
INTERRUPTED = (
    "interrupted; a scan removes what it planted before it exits (anything it could not is journaled: ragward cleanup)"
)


class DemoProfile(StrEnum):
    """Which lab profiles ``demo`` scans."""

    VULNERABLE = "vulnerable"
    HARDENED = "hardened"
    BOTH = "both"


class Format(StrEnum):
    """Output formats of ``demo`` and ``scan``."""

    TABLE = "table"
    JSON = "json"
    HTML = "html"
    JUNIT = "junit"
    SARIF = "sarif"


def _run(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro

    return asyncio.run(wrap())


async def _scan(
    target: Target, *, test_profile: str, concurrency: int, label: str, progress: Progress, seed: int | None
) -> RunSummary:
    total = len(select(test_profile))
    task = progress.add_task(f"{label}", total=total)

    def tick(result: TestResult) -> None:
        progress.update(task, advance=1, description=f"{label} {result.id}")

    try:
        run = await run_scan(
            target, test_profile=test_profile, concurrency=concurrency, on_result=tick, label=label, seed=seed
        )
    finally:
        await target.close()
    progress.update(task, description=f"{label} done")
    return run


def _scan_all(
    targets: Sequence[tuple[str, Callable[[], Target]]], *, test_profile: str, concurrency: int, seed: int | None
) -> list[RunSummary]:
    runs: list[RunSummary] = []
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        for label, factory in targets:
            load = progress.add_task(f"{label}: loading target", total=None)
            target = factory()
            progress.remove_task(load)
            runs.append(
                _run(
                    _scan(
                        target,
                        test_profile=test_profile,
                        concurrency=concurrency,
                        label=label,
                        progress=progress,
                        seed=seed,
                    )
                )
            )
    return runs


def _caught_by(tests: list[TestResult]) -> str:
    counts: dict[str, int] = {}
    for t in tests:
        if t.outcome is Outcome.PASSED and t.caught_by:
            counts[t.caught_by] = counts.get(t.caught_by, 0) + 1
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items())) or "—"


def print_run(run: RunSummary) -> None:
    """Print a run as one summary table per suite, then its findings."""
    status = "[green]completed[/]" if run.status == "completed" else f"[red]{run.status}[/]"
    out.rule(f"[bold]{run.profile}[/] · {run.target} · {status} · {(run.duration_ms or 0) / 1000:.1f} s")
    summary = Table(title="Results by suite", title_justify="left")
    for col in ("suite", "run", "passed", "failed", "skipped", "caught by"):
        summary.add_column(col, justify="right" if col in ("run", "passed", "failed", "skipped") else "left")
    for suite in Suite:
        tests = [t for t in run.tests if t.suite is suite]
        summary.add_row(
            suite.value,
            str(len(tests)),
            f"[green]{sum(t.outcome is Outcome.PASSED for t in tests)}[/]",
            f"[red]{sum(t.outcome is Outcome.FAILED for t in tests)}[/]",
            str(sum(t.outcome is Outcome.SKIPPED for t in tests)),
            _caught_by(tests),
        )
    summary.add_row(
        "[bold]total[/]",
        str(run.tests_run),
        str(run.tests_passed),
        str(run.tests_failed),
        str(run.tests_skipped),
        "",
    )
    out.print(summary)
    detail = Table(title="Tests", title_justify="left", show_lines=False)
    for col in ("id", "title", "outcome", "caught by", "layer"):
        detail.add_column(col, overflow="fold")
    for t in run.tests:
        layer = f"{t.layer}{' (inferred)' if t.layer_inferred else ''}" if t.layer else "—"
        detail.add_row(t.id, t.title, f"[{OUTCOME_STYLE[t.outcome]}]{t.outcome}[/]", t.caught_by or "—", layer)
    out.print(detail)
    if run.findings:
        findings = Table(title=f"Findings ({len(run.findings)})", title_justify="left")
        for col in ("severity", "test", "category", "evidence", "mitigation (docs/mitigations.md)"):
            findings.add_column(col, overflow="fold", ratio=4 if col == "evidence" else None)
        for f in sorted(run.findings, key=lambda f: (-f.severity.rank, f.test_id)):
            evidence = f.evidence if len(f.evidence) <= 160 else f.evidence[:157] + "…"
            findings.add_row(
                f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]",
                f.test_id,
                f.category,
                evidence,
                "#" + f.mitigation.split("#", 1)[-1],
            )
        out.print(findings)
    else:
        out.print("[green]No findings.[/]")
    if run.error:
        err.print(f"[red]run error:[/] {run.error}")


def _write(fmt: str, runs: list[RunSummary], path: Path | None) -> Path | None:
    from ragward.reports import render, write_report

    if path is None:
        render(fmt, runs, sys.stdout)
        return None
    return write_report(fmt, runs, path)


def _emit(fmt: Format, runs: list[RunSummary], output: Path | None, default_dir: Path | None) -> None:
    if fmt is Format.TABLE:
        for run in runs:
            print_run(run)
        directory = output or default_dir
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            for kind in ("json", "html"):
                path = _write(kind, runs, directory / f"ragward-report.{kind}")
                out.print(f"{kind.upper()} report: [bold]{path}[/]")
        return
    written = _write(fmt.value, runs, output)
    if written is not None:
        err.print(f"{fmt.value} report written to {written}")


def check_output(fmt: Format, output: Path | None) -> None:
    """Refuse an unusable ``--output`` before a scan runs (raises :class:`ConfigError`)."""
    if output is None:
        return
    if fmt is Format.TABLE:
        if output.exists() and not output.is_dir():
            raise ConfigError(f"--output {output} must be a folder for --format table (it is a file)")
    elif output.is_dir():
        raise ConfigError(f"--output {output} is a folder; give a file path for --format {fmt.value}")
    ancestor = output.parent if fmt is not Format.TABLE else output
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"--output {output}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK):
        raise ConfigError(f"--output {output}: {ancestor} is not writable")


def _warn_if_little_was_tested(runs: list[RunSummary]) -> None:
    """A clean result means little when most tests were skipped (a cache answering, a capability missing): say so."""
    for run in runs:
        if run.tests_run and run.tests_skipped * 2 > run.tests_run:
            reasons = Counter(t.reason or "?" for t in run.tests if t.outcome is Outcome.SKIPPED)
            reason, count = reasons.most_common(1)[0]
            err.print(
                f"warning: {run.profile}: {run.tests_skipped} of {run.tests_run} tests were skipped, so this scan "
                f"tested little; the most common reason ({count}×): {reason}",
                highlight=False,
                soft_wrap=True,
            )


def _exit_code(runs: list[RunSummary], fail_on: Severity) -> int:
    """3 when a run failed (its results are incomplete), else 1 when a finding reaches ``fail_on``, else 0."""
    failed = [r for r in runs if r.status == "failed"]
    for run in failed:
        err.print(f"error: scan of {run.profile} failed: {run.error}", highlight=False, soft_wrap=True)
    if failed:
        return 3
    _warn_if_little_was_tested(runs)
    worst = [r.worst_severity() for r in runs]
    hits = [f for r in runs for f in r.findings if f.severity.at_least(fail_on)]
    if hits:
        ids = ", ".join(sorted({f.test_id for f in hits}))
        err.print(f"{len(hits)} finding(s) at or above {fail_on}: {ids}", highlight=False, soft_wrap=True)
    return 1 if any(w is not None and w.at_least(fail_on) for w in worst) else 0


def _lab_factory(profile: str) -> Callable[[], Target]:
    return lambda: build_target(LabTargetConfig(kind="lab", profile=profile))


@app.command()
def demo(
    profile: Annotated[DemoProfile, typer.Option(help="Lab profile(s) to scan.")] = DemoProfile.BOTH,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TABLE,
    output: Annotated[Path | None, typer.Option(help="Report file (json/html/junit/sarif) or folder (table).")] = None,
    tests: Annotated[str, typer.Option("--tests", help="Test profile: default, quick, deep or all.")] = "default",
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tests in flight.")] = 1,
    reproducible: Annotated[
        bool,
        typer.Option(
            "--reproducible/--random",
            help="Fixed canaries and markers (the demo's output is the same every run) or fresh random ones.",
        ),
    ] = True,
) -> None:
    """Scan the embedded reference RAG lab (real embeddings, Chroma, SmolLM2) and report."""
    profiles = ["vulnerable", "hardened"] if profile is DemoProfile.BOTH else [profile.value]
    select(tests)  # validate before loading models
    check_output(fmt, output)
    seed = DEMO_SEED if reproducible else None
    runs = _scan_all([(p, _lab_factory(p)) for p in profiles], test_profile=tests, concurrency=concurrency, seed=seed)
    _emit(fmt, runs, output, Path("ragward-report"))
    if any(r.status == "failed" for r in runs):
        raise typer.Exit(_exit_code(runs, Severity.CRITICAL))


@app.command()
def scan(
    target: Annotated[Path, typer.Option("--target", help="Target configuration (YAML).")],
    profile: Annotated[str, typer.Option(help="Test profile: default, quick, deep or all.")] = "default",
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Tests in flight.")] = 4,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TABLE,
    output: Annotated[Path | None, typer.Option(help="Report file (or folder for table).")] = None,
    fail_on: Annotated[Severity, typer.Option(help="Exit 1 when a finding reaches this severity.")] = Severity.HIGH,
    seed: Annotated[int | None, typer.Option(help="Reproducible canaries and markers (regression runs only).")] = None,
) -> None:
    """Scan a target described by a YAML file; exit 1 when a finding reaches --fail-on."""
    config = load_target_config(target)
    select(profile)
    check_output(fmt, output)
    label = config.name or (config.profile if isinstance(config, LabTargetConfig) else config.label)
    runs = _scan_all([(label, lambda: build_target(config))], test_profile=profile, concurrency=concurrency, seed=seed)
    _emit(fmt, runs, output, None)
    raise typer.Exit(_exit_code(runs, fail_on))


@app.command()
def cleanup(
    target: Annotated[Path, typer.Option("--target", help="Target configuration (YAML).")],
) -> None:
    """Remove documents left behind by a killed scan of TARGET (from its journal)."""
    config = load_target_config(target)
    built = build_target(config)

    async def go() -> int:
        try:
            return await cleanup_target(built)
        finally:
            await built.close()

    removed = _run(go())
    out.print(f"removed {removed} leftover planted document(s)")


@tests_app.command("list")
def tests_list(
    profile: Annotated[str, typer.Option(help="Test profile: default, quick, deep or all.")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print the test catalogue: id, suite, severity, title, references."""
    tests = select(profile)
    if fmt == "json":
        rows = [
            {
                "id": t.spec.id,
                "suite": t.spec.suite.value,
                "title": t.spec.title,
                "severity": t.spec.severity.value,
                "category": t.spec.category.value,
                "owasp": list(t.spec.owasp),
                "atlas": list(t.spec.atlas),
                "mitigation": t.spec.mitigation,
                "source": t.spec.source,
                "requires": sorted(str(c) for c in t.spec.requires),
                "profiles": sorted(t.spec.profiles),
            }
            for t in tests
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt != "table":
        raise ConfigError(f"unknown format {fmt!r} (choose table or json)")
    table = Table(title=f"ragward tests ({len(tests)}; profiles: {', '.join(test_profiles())})")
    for col in ("id", "suite", "severity", "title", "profiles", "OWASP / ATLAS"):
        table.add_column(col, overflow="fold")
    for t in tests:
        refs = ", ".join([*(r.split(" ")[1] for r in t.spec.owasp), *(r.split(" ")[0] for r in t.spec.atlas)])
        profiles = ", ".join(sorted(t.spec.profiles))
        table.add_row(t.spec.id, t.spec.suite.value, t.spec.severity.value, t.spec.title, profiles, refs)
    out.print(table)


def _register_extensions() -> None:
    """Mount the service commands (serve, worker, admin) and ``lab serve``."""
    from ragward.lab.server import lab_app
    from ragward.service.cli import register

    register(app)
    app.add_typer(lab_app, name="lab")


def main() -> None:
    """Entry point: runs the app, turning ragward errors into one-line messages."""
    _register_extensions()
    try:
        rc = app(standalone_mode=False)
    except RagwardError as exc:
        err.print(f"[red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):  # click turns Ctrl-C into Abort
        err.print(INTERRUPTED)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: typer's message, exit 2
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}")
        sys.exit(int(getattr(exc, "exit_code", 2)))
    if rc == 130:  # typer turns Ctrl-C into Exit(130) in non-standalone mode
        err.print(INTERRUPTED, soft_wrap=True)
    sys.exit(rc if isinstance(rc, int) else 0)
