"""Run the benchmarks in order: generate (builds the data set), then search (reuses it)."""

from __future__ import annotations

import sys

from bench import generate, search

BENCHES = {"generate": generate.main, "search": search.main}


def main() -> None:
    names = sys.argv[1:] or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
        print(f"\n=== bench/{name} ===", flush=True)
        BENCHES[name]()


if __name__ == "__main__":
    main()
