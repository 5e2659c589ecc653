"""Skills library: model, port and one use case per intent."""
