"""The rating service (``flame serve``): a FastAPI app around one rater, micro-batched and cached.

FastAPI and uvicorn are imported by `flame.serve.app`, not here, so importing the package stays cheap.
"""
