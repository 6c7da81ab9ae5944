"""`gankit serve`: a model over HTTP with micro-batching (FastAPI + uvicorn, the ``serve`` extra).

- :mod:`gankit.serve.backend`: eager torch or an ONNX export behind one interface;
- :mod:`gankit.serve.batcher`: the bounded queue and its one inference worker;
- :mod:`gankit.serve.app`: ``create_app(backend, settings)`` and ``build_backend(path, backend)``;
- :mod:`gankit.serve.routes_generate` / :mod:`gankit.serve.routes_translate`: the endpoints;
- :mod:`gankit.serve.limits`, :mod:`gankit.serve.auth`, :mod:`gankit.serve.prom`: limits, the API key, metrics.

Nothing here is imported by ``import gankit``: fastapi and friends load only when serving.
"""
