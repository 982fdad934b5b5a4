"""One DTW query against one reference over its whole grid (`kernels`, private)."""

__all__: list[str] = []
