"""Training: typed configs, the data stream, the recipe (`flame train`), tail-patch and export.

Import the submodules you need (``flame.train.recipe``, ``flame.train.config``); nothing heavy is imported
here, so ``flame --help`` stays fast.
"""
