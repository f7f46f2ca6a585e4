"""Running the service: the process runner, health endpoint and structured logs."""
