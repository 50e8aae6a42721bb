"""Task registrations, one module per dataset family. Every module here is imported by
``flame.data.task.load_all_tasks``; each calls ``register_task`` at import time."""
