"""Judging melodies: statistics against held-out songs, rhythm, keys, memorization, the classifier test,
the n-gram control, infilling, the report and the leaderboard of runs."""
