"""Core value types and rules every layer shares: the model, the error tree, redaction."""
