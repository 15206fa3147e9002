"""Agency adapters: the SDK every adapter implements, and one package per agency system."""
