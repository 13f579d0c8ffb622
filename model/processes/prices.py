"""Shock: product prices of the year (log-AR(1) around the normal price, grain price floor).

Reads ``params.shocks`` (price_persistence, price_volatility, grain_price_floor) and the draws
``price_innovation``; writes ``world.log_price`` and ``world.price``, which production reads.
"""
from __future__ import annotations

import numpy as np

from ..enums import Product
from ..world import World


def realise_prices(world: World) -> None:
    p, d = world.params.shocks, world.draws
    world.log_price = p.price_persistence * world.log_price + np.asarray(p.price_volatility) * d.price_innovation
    price = np.exp(world.log_price)
    price[Product.GRAIN] = max(price[Product.GRAIN], p.grain_price_floor)
    world.price = price
