"""`python -m src.bench`: see src/bench/suite.py."""

from src.bench.suite import main

if __name__ == "__main__":
    main()
