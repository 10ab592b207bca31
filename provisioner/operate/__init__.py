"""Day-2 operations on a live environment: deploys, health gates, the run lock, cost."""
