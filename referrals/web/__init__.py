"""The browser: views, forms, template tags and URLs (views call selectors and services only)."""
