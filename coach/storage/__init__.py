"""What is kept: where files live, the session store and its migrations, accounts,
settings files and atomic file writes."""
