"""``sio cost --plot FILE.png``: monthly cost of each mode against daily volume, log-log, with the
points where the cheapest mode changes marked. matplotlib with the Agg backend (no display)."""

from __future__ import annotations

import math
from pathlib import Path

from sio.costs import CROSSOVER_SETS, MODES, Crossover, Prices, Workload, crossovers, fixed_monthly, mode_cost, volumes

COLORS = {"realtime": "#d62728", "serverless": "#9467bd", "async": "#1f77b4", "batch": "#8c564b", "nightly": "#2ca02c"}
LABELS = {
    "realtime": "real-time (always on)",
    "serverless": "serverless",
    "async": "async (scales to zero)",
    "batch": "batch (a job per file)",
    "nightly": "nightly batch",
}


def plot(
    workload: Workload, prices: Prices, path: Path, *, low: float = 10, high: float = 10_000_000
) -> list[Crossover]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = volumes(low, high, 160)
    figure, axes = plt.subplots(figsize=(10, 6), dpi=110)
    for mode in MODES:
        ys = []
        for volume in xs:
            cost = mode_cost(mode, workload.with_volume(volume), prices)
            ys.append(cost.total if cost.applicable and cost.total > 0 else math.nan)
        axes.plot(xs, ys, label=LABELS[mode], color=COLORS[mode], linewidth=2)
    found: list[Crossover] = []
    for modes in CROSSOVER_SETS.values():
        for crossing in crossovers(workload, prices, low=low, high=high, modes=modes):
            if all(abs(crossing.requests_per_day / c.requests_per_day - 1) > 0.01 for c in found):
                found.append(crossing)
    found.sort(key=lambda c: c.requests_per_day)
    lines = []
    for number, crossing in enumerate(found, 1):
        axes.axvline(crossing.requests_per_day, color="grey", linestyle=":", linewidth=1)
        axes.plot([crossing.requests_per_day], [crossing.monthly], "o", color="black", markersize=6, zorder=5)
        axes.annotate(
            str(number),
            (crossing.requests_per_day, crossing.monthly),
            textcoords="offset points",
            xytext=(-4, 8 + 12 * (number % 2)),
            fontsize=9,
            fontweight="bold",
        )
        settled = f" (for good from {crossing.settled:,.0f})" if crossing.settled else ""
        lines.append(
            f"{number}: {crossing.below} → {crossing.above} at {crossing.requests_per_day:,.0f}/day{settled}, "
            f"${crossing.monthly:,.0f}/month"
        )
    if lines:
        axes.text(
            0.99,
            0.02,
            "\n".join(lines),
            transform=axes.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "grey"},
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("requests per day")
    fixed = sum(fixed_monthly(prices).values())
    axes.set_ylabel(f"monthly cost, USD (SageMaker + orchestration; + ${fixed:,.2f} fixed)")
    size = _size(workload.payload_bytes)
    axes.set_title(
        f"{size} payload, {workload.processing_seconds:g} s per request on {workload.instance_type}, "
        f"{workload.traffic.name} traffic (prices as of {prices.as_of})",
        fontsize=10,
    )
    axes.grid(True, which="both", linewidth=0.3, alpha=0.5)
    axes.plot(
        [], [], "o", color="black", label="crossover: the cheaper mode for an answer in seconds or minutes changes"
    )
    axes.legend(loc="upper left", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return found


def _size(value: float) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{value:g} B"
