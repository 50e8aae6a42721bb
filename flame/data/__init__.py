"""The data layer: tasks, sources, the built collection (Arrow), splits, mixtures, decontamination.

Imports no torch: listing and inspecting tasks stays instant.
"""
