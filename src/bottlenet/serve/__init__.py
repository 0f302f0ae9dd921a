"""The playground (`bottlenet serve`, extra `serve`): settings the page may ask for
(settings.py, JAX-free), one live training run (engine.py), the web app that serves the
page and streams frames over a websocket (app.py), and the page itself (static/)."""
