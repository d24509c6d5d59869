"""What the user sees: overlays, the report JSON, the HTML report, words and charts."""
