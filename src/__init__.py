"""melody-generator: learn monophonic folk melodies and write new ones."""
