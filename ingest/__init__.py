"""Everything left of the store: read, clean, structure, tag and chunk reports."""
