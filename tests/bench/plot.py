"""Plots latency against record count: `plot.py DATA.json OUT.png` (runs in the bench venv)."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402

PANELS = [
    ("get", "get by id"),
    ("list", "filtered list (rating > 3), no index"),
    ("list_idx", "filtered list (rating > 3), rating index"),
    ("page1", "unfiltered list, page 1"),
    ("page1000", "unfiltered list, page 1,000"),
    ("create", "create"),
]
STYLE = {"TinyBase": ("#c0392b", "o"), "PocketBase": ("#2471a3", "s")}


def main(data_path: str, out_path: str) -> None:
    raw = json.load(open(data_path))
    sizes = sorted(int(n) for n in raw)
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.5), sharex=True)
    for ax, (key, title) in zip(axes.flat, PANELS):
        for server, (color, marker) in STYLE.items():
            xs, p50, p99 = [], [], []
            for n in sizes:
                m = raw[str(n)].get(f"{server}|{key}")
                if m:
                    xs.append(n)
                    p50.append(m["p50_ms"])
                    p99.append(m["p99_ms"])
            if not xs:
                continue
            ax.plot(xs, p50, color=color, marker=marker, label=f"{server} p50")
            ax.plot(xs, p99, color=color, marker=marker, linestyle="--", alpha=0.6,
                    label=f"{server} p99")
        ax.set_title(title, fontsize=11)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.grid(True, which="major", alpha=0.3)
        ax.set_ylabel("latency (ms, log)")
    for ax in axes[-1]:
        ax.set_xlabel("records in the collection")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.suptitle("TinyBase vs PocketBase 0.40.6: latency against record count "
                 "(16 connections, wrk; solid p50, dashed p99; lower is better)", y=0.985)
    fig.legend(handles, labels, loc="upper center", ncol=4, frameon=False,
               bbox_to_anchor=(0.5, 0.955))
    fig.tight_layout(rect=(0, 0, 1, 0.91))
    fig.savefig(out_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
