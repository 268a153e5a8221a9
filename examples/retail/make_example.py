"""Write purchases.csv: a small, made-up purchase log in the shape the `retail` profile reads.

Deterministic (fixed seed), standard library only: `python examples/retail/make_example.py`.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 2025
PURCHASES = 300
CUSTOMERS = 24

# (brand, category, product names): invented, like every value in the file.
BRANDS = [
    ("Northwind", "coffee", ["House Blend 500 g", "Espresso Beans 1 kg", "Decaf 250 g"]),
    ("Kettle & Co", "kitchen", ["Pour-Over Kettle", "Milk Jug", "Glass Carafe"]),
    ("Fieldnote", "stationery", ["Dot Grid Notebook", "Fineliner Set", "Pocket Diary"]),
    ("Lumen", "lighting", ["Desk Lamp", "LED Bulb 4-pack", "Clip Light"]),
    ("Trailhead", "outdoor", ["Water Bottle", "Trail Socks", "Headlamp"]),
    ("Papyrus Press", "books", ["Field Guide to Birds", "Bread Baking", "City Walks"]),
]
CHANNELS = ["web", "app", "store"]
COUNTRIES = ["DE", "FR", "NL", "GB"]


def catalog(rng: random.Random) -> list[dict[str, str | int]]:
    items = []
    for brand_number, (brand, category, names) in enumerate(BRANDS):
        for name_number, name in enumerate(names):
            items.append(
                {
                    "sku": f"SKU-{brand_number + 1:02d}{name_number + 1:02d}",
                    "product_name": name,
                    "brand": brand,
                    "category": category,
                    "price_cents": rng.randrange(299, 6999, 10),
                }
            )
    return items


def purchases(rng: random.Random) -> list[dict[str, str | int]]:
    items = catalog(rng)
    customers = [f"C{number:04d}" for number in range(1, CUSTOMERS + 1)]
    home_country = {customer: rng.choice(COUNTRIES) for customer in customers}
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rows = []
    for order in range(1, PURCHASES + 1):
        # A few customers buy most: weights fall with the customer's number.
        customer = rng.choices(customers, weights=[1 / (n + 1) for n in range(CUSTOMERS)])[0]
        item = rng.choices(items, weights=[1 / (n + 2) for n in range(len(items))])[0]
        quantity = rng.choice([1, 1, 1, 2, 3])
        moment = start + timedelta(seconds=rng.randrange(365 * 24 * 3600))
        rows.append(
            {
                "order_id": f"O{order:05d}",
                "customer_id": customer,
                "purchased_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sku": item["sku"],
                "product_name": item["product_name"],
                "brand": item["brand"],
                "category": item["category"],
                "amount_cents": int(item["price_cents"]) * quantity,
                "quantity": quantity,
                "channel": rng.choice(CHANNELS),
                "country": home_country[customer],
            }
        )
    rows.sort(key=lambda row: (row["purchased_at"], row["order_id"]))
    # One refund, which the ingest quarantines (negative ms_played), to show where such rows go.
    refund = dict(rows[-1], order_id=f"O{PURCHASES + 1:05d}")
    refund["amount_cents"] = -int(refund["amount_cents"])
    rows.append(refund)
    return rows


def main() -> None:
    rows = purchases(random.Random(SEED))
    target = Path(__file__).resolve().parent / "purchases.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} purchases to {target}")


if __name__ == "__main__":
    main()
