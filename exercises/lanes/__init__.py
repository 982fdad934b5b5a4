"""Many DTW queries against one reference in SIMD lanes (`kernels`, private)."""

__all__: list[str] = []
