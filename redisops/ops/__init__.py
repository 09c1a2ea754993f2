"""Operations: compose the pure core and the adapters; report progress through callbacks."""
