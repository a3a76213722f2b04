"""Files in and out: the capped reader every input goes through, and the one writer (whole files or
nothing, modes as open(2) gives them)."""
