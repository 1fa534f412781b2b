"""The signalkb web UI: FastAPI routes, Jinja2 templates, local static CSS/JS."""
