"""Route modules, one per page family; each page is also served as JSON under /api."""
