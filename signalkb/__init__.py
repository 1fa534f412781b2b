"""signalkb's composition root: the command line and the wiring of its parts.

The packages stand on each other in one order, and imports only point down it:
`kb` (records, store, search) ← `ingest` (fetch, extract, pipeline) ← `web` (the app) ←
`signalkb` (the CLI and `signalkb.compose`, which builds the store, the embedders and the
extractor from Settings). `tests/test_layers.py` keeps it so.
"""
