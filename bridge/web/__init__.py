"""The people's pages: sign-in, the engineers' desk (queue, ticket page, stats, live events)
and the customers' portal (portal/). Server-rendered Jinja2 with a little plain JavaScript
shipped in static/; nothing is loaded from a CDN."""
