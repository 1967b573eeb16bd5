"""`innocommons demo`: load the demo data of every app (idempotent) and optionally N synthetic
listings."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from innocommons.catalog import demo
from innocommons.catalog.search import engine
from innocommons.catalog.search.indexer import apply_outbox, published_count, reindex
from innocommons.insights import rollups
from innocommons.market.demo_auctions import load_auction_demo
from innocommons.market.demo_contracts import load_challenge_demo, load_contract_demo
from innocommons.market.demo_demands import load_demand_demo
from innocommons.orders.demo import load_orders_demo
from innocommons.vouchers.demo import load_voucher_demo

SIZES = {"small": 0, "medium": 20_000, "large": 200_000}


class Command(BaseCommand):
    help = "Load demo organisations, accounts and listings (safe to run twice)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--size",
            choices=sorted(SIZES),
            default="small",
            help="small: curated data only; medium/large add synthetic listings",
        )
        parser.add_argument(
            "--resources",
            type=int,
            default=None,
            help="number of synthetic listings to add (overrides --size)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        n = opts["resources"] if opts["resources"] is not None else SIZES[opts["size"]]
        if n < 0 or n > 20_000_000:
            raise CommandError("--resources must be between 0 and 20,000,000")
        quiet = opts["verbosity"] == 0
        started = time.monotonic()
        created, accounts = demo.load_demo()
        self.stdout.write(f"Curated demo data: {created} new listing(s).")
        if n:
            synth = demo.Synthesizer()
            with tqdm(total=n, unit="listing", desc="generate", disable=quiet) as bar:
                made = synth.generate(n, progress=bar.update)
            self.stdout.write(f"Synthetic listings: {made} new.")
            with tqdm(total=published_count(), unit="doc", desc="index", disable=quiet) as bar:
                reindex(progress=bar.update)
        elif created or engine.is_stale():
            reindex()
        else:
            apply_outbox()
        # Demand alerts match against the search index, so these come after indexing.
        orgs = demo.demo_organisations()
        for label, load in [
            ("voucher programmes with a season of activity", load_voucher_demo),
            ("instrument bookings", load_orders_demo),
            ("technology contracts", load_contract_demo),
            ("open challenges", load_challenge_demo),
            ("technology demands", load_demand_demo),
            ("auction sessions", load_auction_demo),
        ]:
            self.stdout.write(f"Demo {label}: {load(orgs)} new.")
        # Some demo records are bulk-written: recount the statistics from the raw records.
        rollups.rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready in {time.monotonic() - started:.1f} s. Accounts (password "
                f"'{demo.DEMO_PASSWORD}'):"
            )
        )
        for username, role in accounts:
            self.stdout.write(f"  {username:<12} {role}")
