"""Data subjects: the people personal data is about, known to Doorstep by id only."""
