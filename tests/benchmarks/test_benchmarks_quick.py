"""The benchmark suite: the generator keeps its promised shape, and ``--quick --json`` reports every figure."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

from benchmarks.generator import RADIUS_KM, CoalitionGenerator
from bot.geo import distance_km
from bot.models import PostKind, Urgency

ROOT = Path(__file__).resolve().parents[2]
PROMISED_KEYS = {
    "match_p99_ms_100k", "match_growth_10k_to_100k", "e2e_noop_commands_per_s", "e2e_commands_per_s",
    "e2e_ratio_vs_noop", "e2e_ack_p99_ms_at_200", "e2e_burst_last_ack_ms", "e2e_burst_late", "e2e_burst_lost",
    "quality_ratio_vs_optimal", "quality_ratio_greedy", "digest_round_s", "loop_max_stall_ms", "peak_rss_mb",
    "housekeeping_wake_ms", "housekeeping_sweep_ms", "housekeeping_backlog_ms", "housekeeping_loop_max_stall_ms",
    "sizes",
}  # fmt: skip


def test_generator_concentrates_skews_and_mixes_urgency_as_promised():
    generator = CoalitionGenerator(seed=3)
    needs = generator.posts_of(PostKind.NEED, 20_000, org_count=100)
    urgency = Counter(p.urgency for p in needs)
    assert 0.08 <= urgency[Urgency.CRITICAL] / len(needs) <= 0.12
    sectors = Counter(p.sector for p in needs)
    assert (sectors["wash"] + sectors["food"] + sectors["shelter"]) / len(needs) >= 0.7
    assert {key for key, _ in Counter(p.item_key for p in needs).most_common(3)} <= {
        "water", "bottled_water", "food", "ready_to_eat_meals", "tarpaulin", "tents",
    }  # fmt: skip
    centre = generator.centre_place
    km = [distance_km(centre.lat, centre.lon, p.place.lat, p.place.lon) for p in needs]
    assert statistics.median(km) < RADIUS_KM / 4
    assert sum(d <= RADIUS_KM for d in km) / len(km) >= 0.95
    assert len({p.place.key for p in needs}) >= 30  # real, varied towns, not one point


def test_quick_json_reports_every_promised_figure():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert PROMISED_KEYS <= figures.keys()
    assert figures["quick"] is True
    for scenario, status in figures["scenarios"].items():
        assert not status.startswith("failed"), f"{scenario}: {status}"
