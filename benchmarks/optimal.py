"""The hindsight optimum of a set of needs and offers: OR-Tools' min-cost flow (a benchmark-only dependency).

Source -> each need (capacity: its quantity) -> each offer it may pair with
(the engine's own pairing rules: compatible item, units that convert, different
org, within the event's radius) -> sink (capacity: the offer's quantity).
Quantities flow in each item's default unit (a post in gallons counts its
litres, one in cartons of 12 kits its kits), rounded down, so posts in mixed
units compare on one scale; :func:`in_default_units` is that scale. A unit through a
need earns its urgency weight; distance breaks ties (a weight step of 0.5 is
worth far more than the whole radius), so the flow maximises the
urgency-weighted quantity matched, then keeps it close. An arc straight from
source to sink lets any quantity stay unmatched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from bot.geo import EARTH_RADIUS_KM
from bot.models import Post, PostKind
from bot.taxonomy import Taxonomy
from bot.units import factor

WEIGHT_SCALE = 10_000  # cost units per unit of urgency weight; distance costs 1 per km


@dataclass(frozen=True, slots=True)
class Optimum:
    weighted_quantity: float
    quantity: int
    mean_distance_km: float  # quantity-weighted
    arcs: int
    by_urgency: dict[str, int] | None = None  # quantity matched per need urgency


def in_default_units(taxonomy: Taxonomy, item_key: str, unit: str, quantity: int) -> float:
    """``quantity`` of ``unit`` in the item's default unit: the one scale quality is measured on."""
    item = taxonomy.get(item_key)
    if item is None:
        return float(quantity)
    ratio = factor(taxonomy.unit(item_key, item.unit), taxonomy.unit(item_key, unit))
    return float(quantity * ratio) if ratio is not None else float(quantity)


def optimum(posts: list[Post], *, taxonomy: Taxonomy, radius_km: float) -> Optimum:
    from ortools.graph.python import min_cost_flow

    needs = [p for p in posts if p.kind is PostKind.NEED]
    offers = [p for p in posts if p.kind is PostKind.OFFER]
    if not needs or not offers:
        return Optimum(0.0, 0, 0.0, 0)
    offers_by_item: dict[str, list[int]] = defaultdict(list)
    for j, offer in enumerate(offers):
        offers_by_item[offer.item_key].append(j)
    offer_lat = np.radians([o.lat for o in offers])
    offer_lon = np.radians([o.lon for o in offers])
    offer_org = np.array([o.org_id for o in offers])
    offer_units = [taxonomy.unit(o.item_key, o.unit) for o in offers]
    need_caps = [int(in_default_units(taxonomy, n.item_key, n.unit, n.quantity)) for n in needs]
    offer_caps = [int(in_default_units(taxonomy, o.item_key, o.unit, o.quantity)) for o in offers]

    source, sink = 0, 1
    need_node = 2
    offer_node = 2 + len(needs)
    tails, heads, caps, costs = [], [], [], []
    # source -> need, offer -> sink
    tails.append(np.full(len(needs), source))
    heads.append(np.arange(len(needs)) + need_node)
    caps.append(np.array(need_caps))
    costs.append(np.zeros(len(needs), dtype=np.int64))
    tails.append(np.arange(len(offers)) + offer_node)
    heads.append(np.full(len(offers), sink))
    caps.append(np.array(offer_caps))
    costs.append(np.zeros(len(offers), dtype=np.int64))
    pair_need, pair_offer, pair_km = [], [], []
    for i, need in enumerate(needs):
        keys = taxonomy.compatible_keys(need.item_key)
        need_unit = taxonomy.unit(need.item_key, need.unit)
        candidates = [
            j for key in keys for j in offers_by_item.get(key, ()) if factor(need_unit, offer_units[j]) is not None
        ]
        if not candidates:
            continue
        js = np.array(candidates)
        km = _haversine(np.radians(need.lat), np.radians(need.lon), offer_lat[js], offer_lon[js])
        keep = (km <= radius_km) & (offer_org[js] != need.org_id)
        js, km = js[keep], km[keep]
        if js.size == 0:
            continue
        tails.append(np.full(js.size, need_node + i))
        heads.append(js + offer_node)
        caps.append(np.full(js.size, min(need_caps[i], 2**31 - 1)))
        costs.append(np.rint(km).astype(np.int64) - int(need.urgency.weight * WEIGHT_SCALE))
        pair_need.append(np.full(js.size, i))
        pair_offer.append(js)
        pair_km.append(km)
    pair_count = sum(a.size for a in pair_need)
    total = int(sum(need_caps))
    tails.append(np.array([source]))
    heads.append(np.array([sink]))
    caps.append(np.array([total]))
    costs.append(np.zeros(1, dtype=np.int64))

    flow = min_cost_flow.SimpleMinCostFlow()
    all_tails = np.concatenate(tails).astype(np.int32)
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        all_tails,
        np.concatenate(heads).astype(np.int32),
        np.concatenate(caps).astype(np.int64),
        np.concatenate(costs).astype(np.int64),
    )
    supplies = np.zeros(offer_node + len(offers), dtype=np.int64)
    supplies[source], supplies[sink] = total, -total
    flow.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow did not solve: status {status}")
    first_pair_arc = len(needs) + len(offers)
    pair_flows = flow.flows(arcs[first_pair_arc : first_pair_arc + pair_count])
    if pair_count == 0:
        return Optimum(0.0, 0, 0.0, int(arcs.size))
    need_index = np.concatenate(pair_need)
    km = np.concatenate(pair_km)
    weights = np.array([n.urgency.weight for n in needs])[need_index]
    quantity = int(pair_flows.sum())
    weighted = float((pair_flows * weights).sum())
    mean_km = float((pair_flows * km).sum() / quantity) if quantity else 0.0
    urgency = np.array([n.urgency.value for n in needs])[need_index]
    by_urgency = {level: int(pair_flows[urgency == level].sum()) for level in sorted(set(urgency.tolist()))}
    return Optimum(weighted, quantity, mean_km, int(arcs.size), by_urgency)


def _haversine(lat1, lon1, lat2, lon2):
    dlat, dlon = lat2 - lat1, lon2 - lon1
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))
