"""Instructors' own references: the file format, the library, recording from a demonstration."""
