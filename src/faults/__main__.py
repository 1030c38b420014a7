"""`python -m src.faults`: the kill -9 campaign (src/faults/campaign.py)."""

from src.faults.campaign import main

main()
