"""Run the benchmarks in order: generate (builds the 1M-listing data set), search (reuses
it), then the others. `python -m bench NAME…` runs only those named."""

from __future__ import annotations

import sys

from bench import bids, booking, flows, generate, matching, redeem, search

BENCHES = {
    "generate": generate.main,
    "search": search.main,
    "booking": booking.main,
    "redeem": redeem.main,
    "bids": bids.main,
    "matching": matching.main,
    "flows": flows.main,
}


def main() -> None:
    names = sys.argv[1:] or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
        print(f"\n=== bench/{name} ===", flush=True)
        BENCHES[name]()


if __name__ == "__main__":
    main()
