"""`python -m tools.faults`: the kill -9 campaign (tools/faults/campaign.py)."""

from tools.faults.campaign import main

main()
