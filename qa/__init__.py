"""Everything from the store to the user: settings, embeddings, store, library (writes), retrieval, answers, API,
CLI. The `qa` command starts in qa.__main__, which sets the process defaults (qa.runtime) first."""
