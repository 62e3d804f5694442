"""What an Alpha5 contract tells the risk module about order value.

A linear contract (settled in its quoting asset) is valued price x size in the
quoting asset, which is what ``RiskModule`` computes today: checked here
through the real module. An inverse contract (settled in its base asset, size
in USD) is valued size / price in the settling asset; the Instrument says so by
its ``kind`` (``inverse_perpetual``/``inverse_future``) with ``base`` = the
settling asset. The risk module does not read that yet, so for inverse
contracts only the Instrument's fields are checked here.
"""

from __future__ import annotations

from decimal import Decimal as D

from botkit import Place, RiskModule, Side
from botkit.venues.alpha5 import parsing as a5

from .test_alpha5_documents import inverse_contract


def linear_contract() -> dict[str, object]:
    return {
        **inverse_contract(),
        "symbol": "BTC-PERPETUAL",
        "quoting_asset": {"symbol": "USDT", "name": "Tether", "precision": 8},
        "settling_asset": {"symbol": "USDT", "name": "Tether", "precision": 8},
        "min_order_value": "5",
        "max_order_value": "100000",
    }


def test_linear_order_value_is_price_times_size_in_the_quoting_asset() -> None:
    (inst,) = a5.parse_contracts([linear_contract()], {"BTC": 3})
    assert (inst.kind, inst.base, inst.quote, inst.lot_size) == (
        "perpetual",
        "BTC",
        "USDT",
        D("0.001"),
    )
    risk = RiskModule()
    small = risk.check(Place(inst.symbol, Side.BUY, "0.001", "4000"), inst)  # 4 USDT
    assert small.code == "below_min_notional" and "USDT" in small.reason
    ok = risk.check(Place(inst.symbol, Side.BUY, "0.002", "4000"), inst)  # 8 USDT
    assert ok.accepted
    big = risk.check(Place(inst.symbol, Side.BUY, "3", "40000"), inst)  # 120000 USDT
    assert big.code == "above_max_notional"


def test_inverse_contract_tells_its_kind_and_settling_asset() -> None:
    (spec,) = a5.parse_contract_specs([{**inverse_contract(), "min_order_value": "0.001"}])
    inst = spec.instrument
    assert inst.kind.startswith(a5.INVERSE_PREFIX) and inst.kind == "inverse_perpetual"
    assert (inst.base, inst.quote, spec.settle) == ("BTC", "USD", "BTC")
    # Sizes are whole USD; the order value bounds are in the settling asset.
    assert (inst.lot_size, inst.min_notional) == (D(1), D("0.001"))
