"""The class relay: joins the Stroke Coach of an instructor and its parents, each on their
own laptop, with small messages only (never video). See docs/relay.md."""
