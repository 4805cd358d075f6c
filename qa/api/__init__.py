"""FastAPI service (DESIGN.md §5). Routes never parse files themselves: uploads go through `ingest`."""
