"""The web story room: an aiohttp app with a page and a websocket for live progress."""
